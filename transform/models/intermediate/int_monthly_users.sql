{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['portal_id', 'month_start', 'user_id'],
        indexes=[{'columns': ['portal_id', 'month_start', 'user_id'], 'unique': True}],
        post_hook=["{{ hs_save_watermark([ref('activity_events')]) }}"],
    )
}}

-- One row per portal, UTC month and acting user, and whether that user logged in that
-- month: the distinct users int_monthly_activity counts (distinct counts cannot be
-- added up from days). Incremental: the users with events loaded since the last build
-- are read again (their events, through the timeline's per-user index) and replace
-- their rows.

with touched as (
    select distinct portal_id, actor_user_id
    from {{ ref('activity_events') }}
    where loaded_at > {{ hs_watermark() }}
        and actor_user_id is not null
)

select
    events.portal_id,
    {{ hs_utc_month('events.occurred_at') }} as month_start,
    events.actor_user_id as user_id,
    max(case when events.action = 'auth.login_succeeded' then 1 else 0 end) = 1 as logged_in
from {{ ref('activity_events') }} as events
{%- if is_incremental() %}
inner join touched
    on touched.portal_id = events.portal_id
    and touched.actor_user_id = events.actor_user_id
{%- endif %}
where events.actor_user_id is not null
group by events.portal_id, {{ hs_utc_month('events.occurred_at') }}, events.actor_user_id
