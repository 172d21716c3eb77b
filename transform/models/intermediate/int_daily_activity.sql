{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['portal_id', 'day'],
        indexes=[{'columns': ['portal_id', 'day'], 'unique': True}],
        post_hook=["{{ hs_save_watermark([ref('activity_events')]) }}"],
    )
}}

-- Activity volumes per portal and UTC day, which int_monthly_activity adds up.
-- Incremental: the days with events loaded since the last build are counted again and
-- replace theirs (a re-loaded event must not count twice); a day is a small range of
-- the timeline's occurred_at index, whatever the history's length.

with touched as (
    select distinct portal_id, {{ hs_utc_date('occurred_at') }} as day
    from {{ ref('activity_events') }}
    where loaded_at > {{ hs_watermark() }}
),

events as (
    select
        portal_id,
        {{ hs_utc_date('occurred_at') }} as day,
        source,
        action,
        occurred_at
    from {{ ref('activity_events') }}
    {%- if is_incremental() %}
    -- From the earliest new event's UTC day (a literal: one range of the index; none
    -- when nothing is new: a day far ahead, yet inside DuckDB's nanosecond timestamps,
    -- which fakesnow uses), then narrowed to the touched days by the join below.
    {%- set earliest_new_day -%}
        select coalesce(cast({{ hs_naive_utc('min(occurred_at)') }} as date), cast('2200-01-01' as date))
        from {{ ref('activity_events') }}
        where loaded_at > {{ hs_watermark() }}
    {%- endset %}
    where occurred_at >= {{ hs_utc_literal(earliest_new_day) }}
    {%- endif %}
)

select
    events.portal_id,
    events.day,
    cast(count(*) as {{ dbt.type_bigint() }}) as events,
    cast(sum(case when source = 'login' then 1 else 0 end) as {{ dbt.type_bigint() }}) as login_attempts,
    cast(sum(case when action = 'auth.login_succeeded' then 1 else 0 end) as {{ dbt.type_bigint() }}) as logins_succeeded,
    cast(sum(case when action = 'auth.login_failed' then 1 else 0 end) as {{ dbt.type_bigint() }}) as logins_failed,
    cast(sum(case when source = 'audit' then 1 else 0 end) as {{ dbt.type_bigint() }}) as audit_events,
    cast(sum(case when source = 'security' then 1 else 0 end) as {{ dbt.type_bigint() }}) as security_events,
    cast(sum(case when source = 'cms' then 1 else 0 end) as {{ dbt.type_bigint() }}) as cms_events,
    min(occurred_at) as first_event_at,
    max(occurred_at) as last_event_at
from events
{%- if is_incremental() %}
inner join touched
    on touched.portal_id = events.portal_id
    and touched.day = events.day
{%- endif %}
group by events.portal_id, events.day
