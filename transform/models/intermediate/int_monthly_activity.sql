{{ config(materialized='table') }}

-- Activity volumes per portal and UTC calendar month, what monthly_evidence_summary
-- reports: a table over two small incremental aggregates, the days (int_daily_activity)
-- and the users of each month (int_monthly_users).

with days as (
    select
        portal_id,
        cast({{ dbt.date_trunc('month', 'day') }} as date) as month_start,
        cast(sum(events) as {{ dbt.type_bigint() }}) as events,
        cast(sum(login_attempts) as {{ dbt.type_bigint() }}) as login_attempts,
        cast(sum(logins_succeeded) as {{ dbt.type_bigint() }}) as logins_succeeded,
        cast(sum(logins_failed) as {{ dbt.type_bigint() }}) as logins_failed,
        cast(sum(audit_events) as {{ dbt.type_bigint() }}) as audit_events,
        cast(sum(security_events) as {{ dbt.type_bigint() }}) as security_events,
        cast(sum(cms_events) as {{ dbt.type_bigint() }}) as cms_events,
        min(first_event_at) as first_event_at,
        max(last_event_at) as last_event_at
    from {{ ref('int_daily_activity') }}
    group by portal_id, cast({{ dbt.date_trunc('month', 'day') }} as date)
),

users as (
    select
        portal_id,
        month_start,
        cast(sum(case when logged_in then 1 else 0 end) as {{ dbt.type_bigint() }}) as users_logged_in,
        cast(count(*) as {{ dbt.type_bigint() }}) as active_users
    from {{ ref('int_monthly_users') }}
    group by portal_id, month_start
)

select
    days.portal_id,
    days.month_start,
    days.events,
    days.login_attempts,
    days.logins_succeeded,
    days.logins_failed,
    coalesce(users.users_logged_in, 0) as users_logged_in,
    days.audit_events,
    days.security_events,
    days.cms_events,
    coalesce(users.active_users, 0) as active_users,
    days.first_event_at,
    days.last_event_at
from days
left join users
    on users.portal_id = days.portal_id
    and users.month_start = days.month_start
