{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['portal_id', 'month_start'],
        indexes=[{'columns': ['portal_id', 'month_start'], 'unique': True}],
        post_hook=["{{ hs_save_watermark([ref('activity_events')]) }}"],
    )
}}

-- Activity volumes per portal and UTC calendar month, what monthly_evidence_summary
-- reports. Incremental: only the months with events loaded since the last build are
-- counted again and replace theirs; a month's distinct users cannot be added up from parts.

with touched as (
    select distinct portal_id, {{ hs_utc_month('occurred_at') }} as month_start
    from {{ ref('activity_events') }}
    where loaded_at > {{ hs_watermark() }}
),

events as (
    select
        events.portal_id,
        {{ hs_utc_month('events.occurred_at') }} as month_start,
        events.source,
        events.action,
        events.actor_user_id,
        events.occurred_at
    from {{ ref('activity_events') }} as events
    {%- if is_incremental() %}
    -- From a month before the earliest new event: a superset of its month's start,
    -- read as one range of occurred_at (the index), then narrowed by the join below.
    where events.occurred_at >= (
        select {{ dbt.dateadd('day', -31, 'min(occurred_at)') }}
        from {{ ref('activity_events') }}
        where loaded_at > {{ hs_watermark() }}
    )
    {%- endif %}
)

select
    events.portal_id,
    events.month_start,
    cast(count(*) as {{ dbt.type_bigint() }}) as events,
    cast(sum(case when source = 'login' then 1 else 0 end) as {{ dbt.type_bigint() }}) as login_attempts,
    cast(sum(case when action = 'auth.login_succeeded' then 1 else 0 end) as {{ dbt.type_bigint() }}) as logins_succeeded,
    cast(sum(case when action = 'auth.login_failed' then 1 else 0 end) as {{ dbt.type_bigint() }}) as logins_failed,
    cast(count(distinct case when action = 'auth.login_succeeded' then actor_user_id end) as {{ dbt.type_bigint() }}) as users_logged_in,
    cast(sum(case when source = 'audit' then 1 else 0 end) as {{ dbt.type_bigint() }}) as audit_events,
    cast(sum(case when source = 'security' then 1 else 0 end) as {{ dbt.type_bigint() }}) as security_events,
    cast(sum(case when source = 'cms' then 1 else 0 end) as {{ dbt.type_bigint() }}) as cms_events,
    cast(count(distinct actor_user_id) as {{ dbt.type_bigint() }}) as active_users,
    min(occurred_at) as first_event_at,
    max(occurred_at) as last_event_at
from events
{%- if is_incremental() %}
inner join touched
    on touched.portal_id = events.portal_id
    and touched.month_start = events.month_start
{%- endif %}
group by events.portal_id, events.month_start
