-- Privileged changes: admin grants, users added and removed, 2FA or SSO removed, and
-- API keys, personal access keys, private app tokens or service keys created, viewed
-- or rotated. Which actions count is the seed privileged_actions (edit it to add
-- more, including audit log actions as audit.<category>.<action>). The security
-- activity stream is the source by default: HubSpot publishes its types, and the audit
-- log repeats some of them, so mapping both would count one change twice.

-- Incremental: the events loaded since the last build, and the changes naming a user
-- whose newest e-mail address (int_user_emails) was loaded since; loaded_at is the
-- newer of those two loads.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['portal_id', 'source', 'event_id'],
        indexes=[{'columns': ['portal_id', 'source', 'event_id'], 'unique': True}],
        post_hook=["{{ hs_save_watermark([ref('activity_events'), ref('int_user_emails')]) }}"],
    )
}}

with catalog as (
    select
        lower(action) as action,
        change_type,
        credential_kind,
        target_is_user
    from {{ ref('privileged_actions') }}
),

user_emails as (
    select portal_id, user_id, email, loaded_at
    from {{ ref('int_user_emails') }}
),

events as (
    {{ hs_loaded_or_renamed(ref('activity_events'), 'target_object_id', "rows.source in ('security', 'audit')") }}
)

select
    events.portal_id,
    events.event_id,
    events.source,
    events.occurred_at,
    events.action,
    catalog.change_type,
    catalog.credential_kind,
    events.actor_user_id,
    events.actor_email,
    events.target_object_id,
    case when catalog.target_is_user then events.target_object_id end as target_user_id,
    target_users.email as target_user_email,
    coalesce(
        catalog.target_is_user
        and events.target_object_id is not null
        and events.actor_user_id is not null
        and events.target_object_id <> {{ hs_as_text('events.actor_user_id') }},
        false
    ) as affects_other_user,
    events.ip_address,
    events.country_code,
    events.region_code,
    events.location,
    security.info_url,
    case
        when target_users.loaded_at > events.loaded_at then target_users.loaded_at
        else events.loaded_at
    end as loaded_at
from events
inner join catalog
    on catalog.action = events.action
left join {{ ref('stg_security_activity') }} as security
    on events.source = 'security'
    and security.portal_id = events.portal_id
    and security.id = events.event_id
left join user_emails as target_users
    on catalog.target_is_user
    and target_users.portal_id = events.portal_id
    and {{ hs_as_text('target_users.user_id') }} = events.target_object_id
