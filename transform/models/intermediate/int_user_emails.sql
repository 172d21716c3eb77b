{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['portal_id', 'user_id'],
        indexes=[{'columns': ['portal_id', 'user_id'], 'unique': True}],
        post_hook=["{{ hs_save_watermark([ref('activity_events')]) }}"],
    )
}}

-- The newest e-mail address seen for each HubSpot user id, from any stream's actor
-- (the e-mail of a login, of an audit entry's acting user, of a security entry's
-- acting user): how the OCSF models and privileged_changes name the user a change
-- affected. loaded_at is when the loader wrote the event that gave it, so a model that
-- names a user from here can tell when the name changed.
-- Incremental: only the users with events loaded since the last build, each decided
-- between their new events and the address kept for them.

with new_events as (
    select
        portal_id,
        actor_user_id as user_id,
        actor_email as email,
        occurred_at,
        event_id,
        loaded_at
    from {{ ref('activity_events') }}
    where actor_user_id is not null
      and actor_email is not null
      and loaded_at > {{ hs_watermark() }}
),

candidates as (
    select * from new_events
    {%- if is_incremental() %}
    union all
    select
        kept.portal_id,
        kept.user_id,
        kept.email,
        kept.occurred_at,
        kept.event_id,
        kept.loaded_at
    from {{ this }} as kept
    inner join (select distinct portal_id, user_id from new_events) as touched
        on touched.portal_id = kept.portal_id
        and touched.user_id = kept.user_id
    {%- endif %}
),

ranked as (
    select
        candidates.*,
        row_number() over (
            partition by portal_id, user_id
            order by occurred_at desc, event_id desc, loaded_at desc
        ) as recency
    from candidates
)

select portal_id, user_id, email, occurred_at, event_id, loaded_at
from ranked
where recency = 1
