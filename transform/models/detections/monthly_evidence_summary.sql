-- A monthly evidence summary per portal (UTC calendar months): activity volumes, what
-- each detection found, and how far the month is proven complete, for an auditor or
-- a monthly security review.
{% set streams = ['login_activity', 'audit_logs', 'security_activity', 'cms_content_audit'] %}

-- A table over small inputs: the monthly counts (int_monthly_activity, incremental),
-- the detections and the manifests.
with activity as (
    select * from {{ ref('int_monthly_activity') }}
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
),

checked as (
    -- The ranges the tap read that overlap the month, and what the warehouse lacks of
    -- them (a range spanning months counts in each).
    select
        activity.portal_id,
        activity.month_start,
        {%- for stream in streams %}
        cast(sum(case when completeness.stream = '{{ stream }}' then 1 else 0 end) as {{ dbt.type_bigint() }}) as {{ stream }}_ranges_checked,
        cast(sum(case when completeness.stream = '{{ stream }}' then completeness.events_missing else 0 end) as {{ dbt.type_bigint() }}) as {{ stream }}_events_missing,
        {%- endfor %}
        cast(count(*) as {{ dbt.type_bigint() }}) as ranges_checked
    from activity
    inner join {{ ref('completeness') }} as completeness
        on completeness.portal_id = activity.portal_id
        and completeness.range_start < {{ dbt.dateadd('month', 1, 'activity.month_start') }}
        and completeness.range_end > activity.month_start
    group by activity.portal_id, activity.month_start
),

drift as (
    select
        portal_id,
        {{ hs_utc_month('occurred_at') }} as month_start,
        cast(count(*) as {{ dbt.type_bigint() }}) as drift_events
    from {{ ref('evidence_drift') }}
    group by portal_id, {{ hs_utc_month('occurred_at') }}
),

login_coverage as (
    -- Login history reaches back 90 days from each read: the earliest moment any read
    -- covered. A month starting before it has only part of its logins (or none), so
    -- its login counts are not "0 failed logins".
    select
        portal_id,
        min(case
            when range_start > {{ dbt.dateadd('day', -var('login_retention_days'), 'extracted_at') }}
                then range_start
            else {{ dbt.dateadd('day', -var('login_retention_days'), 'extracted_at') }}
        end) as login_covered_from
    from {{ ref('stg_sync_manifests') }}
    where stream = 'login_activity'
    group by portal_id
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
    activity.last_event_at,
    {%- for stream in streams %}
    coalesce(checked.{{ stream }}_ranges_checked, 0) as {{ stream }}_ranges_checked,
    coalesce(checked.{{ stream }}_events_missing, 0) as {{ stream }}_events_missing,
    {%- endfor %}
    case
        when checked.ranges_checked is null then 'not_checked'
        when {% for stream in streams %}checked.{{ stream }}_events_missing > 0{% if not loop.last %} or {% endif %}{% endfor %} then 'incomplete'
        else 'complete'
    end as completeness_status,
    coalesce(drift.drift_events, 0) as drift_events,
    login_coverage.login_covered_from,
    -- False: the month began before login history was covered; its login counts are
    -- partial (HubSpot had already dropped the older logins).
    coalesce(activity.month_start >= login_coverage.login_covered_from, false) as login_history_complete
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
left join checked
    on checked.portal_id = activity.portal_id
    and checked.month_start = activity.month_start
left join drift
    on drift.portal_id = activity.portal_id
    and drift.month_start = activity.month_start
left join login_coverage
    on login_coverage.portal_id = activity.portal_id
-- Rows in month order: readers that print the table as it is read see the months in turn.
order by activity.portal_id, activity.month_start
