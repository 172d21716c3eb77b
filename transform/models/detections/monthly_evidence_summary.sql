-- A monthly evidence summary per portal (UTC calendar months): activity volumes and
-- what each detection found, for an auditor or a monthly security review.

with events as (
    select
        portal_id,
        {{ hs_utc_month('occurred_at') }} as month_start,
        source,
        action,
        actor_user_id,
        occurred_at
    from {{ ref('activity_events') }}
),

activity as (
    select
        portal_id,
        month_start,
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
    group by portal_id, month_start
),

bursts as (
    select
        portal_id,
        {{ hs_utc_month('first_failed_at') }} as month_start,
        cast(count(*) as {{ dbt.type_bigint() }}) as failed_login_bursts,
        cast(sum(failed_logins) as {{ dbt.type_bigint() }}) as failed_logins_in_bursts,
        cast(sum(case when succeeded_at is not null then 1 else 0 end) as {{ dbt.type_bigint() }}) as bursts_followed_by_success
    from {{ ref('failed_login_bursts') }}
    group by portal_id, {{ hs_utc_month('first_failed_at') }}
),

new_countries as (
    select
        portal_id,
        {{ hs_utc_month('occurred_at') }} as month_start,
        cast(count(*) as {{ dbt.type_bigint() }}) as new_country_logins
    from {{ ref('new_country_logins') }}
    group by portal_id, {{ hs_utc_month('occurred_at') }}
),

privileged as (
    select
        portal_id,
        {{ hs_utc_month('occurred_at') }} as month_start,
        cast(count(*) as {{ dbt.type_bigint() }}) as privileged_changes,
        cast(sum(case when affects_other_user then 1 else 0 end) as {{ dbt.type_bigint() }}) as privileged_changes_on_other_users,
        cast(sum(case when change_type = 'admin_granted' then 1 else 0 end) as {{ dbt.type_bigint() }}) as admin_grants,
        cast(sum(case when change_type = 'user_added' then 1 else 0 end) as {{ dbt.type_bigint() }}) as users_added,
        cast(sum(case when change_type = 'user_removed' then 1 else 0 end) as {{ dbt.type_bigint() }}) as users_removed,
        cast(sum(case when change_type = 'two_factor_removed' then 1 else 0 end) as {{ dbt.type_bigint() }}) as two_factor_removals,
        cast(sum(case when change_type = 'sso_removed' then 1 else 0 end) as {{ dbt.type_bigint() }}) as sso_removals,
        cast(sum(case when change_type = 'credential_created' then 1 else 0 end) as {{ dbt.type_bigint() }}) as credentials_created,
        cast(sum(case when change_type = 'credential_viewed' then 1 else 0 end) as {{ dbt.type_bigint() }}) as credentials_viewed,
        cast(sum(case when change_type = 'credential_rotated' then 1 else 0 end) as {{ dbt.type_bigint() }}) as credentials_rotated
    from {{ ref('privileged_changes') }}
    group by portal_id, {{ hs_utc_month('occurred_at') }}
)

select
    activity.portal_id,
    activity.month_start,
    activity.events,
    activity.login_attempts,
    activity.logins_succeeded,
    activity.logins_failed,
    activity.users_logged_in,
    activity.audit_events,
    activity.security_events,
    activity.cms_events,
    activity.active_users,
    coalesce(bursts.failed_login_bursts, 0) as failed_login_bursts,
    coalesce(bursts.failed_logins_in_bursts, 0) as failed_logins_in_bursts,
    coalesce(bursts.bursts_followed_by_success, 0) as bursts_followed_by_success,
    coalesce(new_countries.new_country_logins, 0) as new_country_logins,
    coalesce(privileged.privileged_changes, 0) as privileged_changes,
    coalesce(privileged.privileged_changes_on_other_users, 0) as privileged_changes_on_other_users,
    coalesce(privileged.admin_grants, 0) as admin_grants,
    coalesce(privileged.users_added, 0) as users_added,
    coalesce(privileged.users_removed, 0) as users_removed,
    coalesce(privileged.two_factor_removals, 0) as two_factor_removals,
    coalesce(privileged.sso_removals, 0) as sso_removals,
    coalesce(privileged.credentials_created, 0) as credentials_created,
    coalesce(privileged.credentials_viewed, 0) as credentials_viewed,
    coalesce(privileged.credentials_rotated, 0) as credentials_rotated,
    activity.first_event_at,
    activity.last_event_at
from activity
left join bursts
    on bursts.portal_id = activity.portal_id
    and bursts.month_start = activity.month_start
left join new_countries
    on new_countries.portal_id = activity.portal_id
    and new_countries.month_start = activity.month_start
left join privileged
    on privileged.portal_id = activity.portal_id
    and privileged.month_start = activity.month_start
