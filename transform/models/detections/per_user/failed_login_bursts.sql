-- Bursts of failed logins per user: a run of one user's failed logins, each within
-- `failed_login_burst_window_minutes` of the previous one, reported when at least
-- `failed_login_burst_threshold` of them fall inside one such window. One row per
-- burst with what an analyst needs to act: who, when, how many, from where, and
-- whether a successful login followed (possible account takeover).
-- Incremental: the bursts of the users with logins loaded since the last build are
-- computed again from their whole login history and replace theirs (a late failure can
-- join two bursts, a late success changes succeeded_at); other users' are kept.
-- loaded_at is the newest load of the logins behind the burst.
-- Configured in dbt_project.yml (detections/per_user): incremental per user.

{%- set threshold = var('failed_login_burst_threshold') | int %}
{%- set window_minutes = var('failed_login_burst_window_minutes') | int %}

with logins as (
    select *
    from {{ ref('activity_events') }} as events
    where events.source = 'login'
      and events.actor_user_id is not null
      and {{ hs_user_has_new_logins('events') }}
),

failed as (
    select
        portal_id,
        event_id,
        occurred_at,
        actor_user_id as user_id,
        actor_email as email,
        ip_address,
        country_code,
        location,
        user_agent,
        loaded_at
    from logins
    where action = 'auth.login_failed'
),

gaps as (
    select
        failed.*,
        lag(occurred_at) over (
            partition by portal_id, user_id order by occurred_at, event_id
        ) as previous_failed_at
    from failed
),

runs as (
    select
        gaps.*,
        sum(
            case
                when previous_failed_at is null
                  or {{ dbt.datediff('previous_failed_at', 'occurred_at', 'second') }} > {{ window_minutes * 60 }}
                then 1
                else 0
            end
        ) over (
            partition by portal_id, user_id
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as run_number
    from gaps
),

-- For each failure, how many failures of its run fall in the window ending there.
windows as (
    select
        later.portal_id,
        later.user_id,
        later.run_number,
        later.event_id,
        count(*) as failed_in_window
    from runs as later
    inner join runs as earlier
        on earlier.portal_id = later.portal_id
        and earlier.user_id = later.user_id
        and earlier.run_number = later.run_number
        and earlier.occurred_at <= later.occurred_at
        and earlier.occurred_at >= {{ dbt.dateadd('minute', -window_minutes, 'later.occurred_at') }}
    group by later.portal_id, later.user_id, later.run_number, later.event_id
),

peaks as (
    select
        portal_id,
        user_id,
        run_number,
        max(failed_in_window) as max_failed_in_window
    from windows
    group by portal_id, user_id, run_number
),

flagged_runs as (
    select runs.*
    from runs
    inner join peaks
        on peaks.portal_id = runs.portal_id
        and peaks.user_id = runs.user_id
        and peaks.run_number = runs.run_number
    where peaks.max_failed_in_window >= {{ threshold }}
),

bursts as (
    select
        portal_id,
        user_id,
        run_number,
        max(email) as email,
        min(occurred_at) as first_failed_at,
        max(occurred_at) as last_failed_at,
        count(*) as failed_logins,
        count(distinct ip_address) as distinct_ip_addresses,
        max(loaded_at) as loaded_at,
        {{ dbt.listagg('event_id', "','", 'order by occurred_at, event_id') }} as event_ids
    from flagged_runs
    group by portal_id, user_id, run_number
),

first_events as (
    select
        portal_id,
        user_id,
        run_number,
        event_id as first_event_id,
        row_number() over (
            partition by portal_id, user_id, run_number order by occurred_at, event_id
        ) as position
    from flagged_runs
),

burst_ips as (
    select distinct portal_id, user_id, run_number, ip_address
    from flagged_runs
    where ip_address is not null
),

ip_addresses as (
    select
        portal_id,
        user_id,
        run_number,
        {{ dbt.listagg('ip_address', "', '", 'order by ip_address') }} as ip_addresses
    from burst_ips
    group by portal_id, user_id, run_number
),

countries as (
    select
        portal_id,
        user_id,
        run_number,
        {{ dbt.listagg('country_code', "', '", 'order by country_code') }} as country_codes
    from (
        select distinct portal_id, user_id, run_number, country_code
        from flagged_runs
        where country_code is not null
    ) as distinct_countries
    group by portal_id, user_id, run_number
),

user_agents as (
    select
        portal_id,
        user_id,
        run_number,
        {{ dbt.listagg('user_agent', "' | '", 'order by user_agent') }} as user_agents
    from (
        select distinct portal_id, user_id, run_number, user_agent
        from flagged_runs
        where user_agent is not null
    ) as distinct_agents
    group by portal_id, user_id, run_number
),

-- The first successful login of the user during the burst or within the window after it.
successes as (
    select
        bursts.portal_id,
        bursts.user_id,
        bursts.run_number,
        logins.occurred_at,
        logins.ip_address,
        logins.loaded_at,
        row_number() over (
            partition by bursts.portal_id, bursts.user_id, bursts.run_number
            order by logins.occurred_at, logins.event_id
        ) as position
    from bursts
    inner join logins
        on logins.portal_id = bursts.portal_id
        and logins.actor_user_id = bursts.user_id
        and logins.action = 'auth.login_succeeded'
        and logins.occurred_at > bursts.first_failed_at
        and logins.occurred_at <= {{ dbt.dateadd('minute', window_minutes, 'bursts.last_failed_at') }}
)

select
    {{ dbt.hash(dbt.concat([
        hs_as_text('bursts.portal_id'), "'|'", hs_as_text('bursts.user_id'), "'|'", 'first_events.first_event_id'
    ])) }} as burst_id,
    bursts.portal_id,
    bursts.user_id,
    bursts.email,
    bursts.first_failed_at,
    bursts.last_failed_at,
    cast({{ dbt.datediff('bursts.first_failed_at', 'bursts.last_failed_at', 'second') }} as {{ dbt.type_bigint() }}) as duration_seconds,
    bursts.failed_logins,
    peaks.max_failed_in_window,
    {{ threshold }} as threshold,
    {{ window_minutes }} as window_minutes,
    bursts.distinct_ip_addresses,
    ip_addresses.ip_addresses,
    countries.country_codes,
    user_agents.user_agents,
    first_events.first_event_id,
    bursts.event_ids,
    successes.occurred_at as succeeded_at,
    successes.ip_address as succeeded_from_ip_address,
    case
        when successes.occurred_at is null then null
        when success_ips.ip_address is not null then true
        else false
    end as succeeded_from_burst_ip,
    case
        when successes.loaded_at > bursts.loaded_at then successes.loaded_at
        else bursts.loaded_at
    end as loaded_at
from bursts
inner join peaks
    on peaks.portal_id = bursts.portal_id
    and peaks.user_id = bursts.user_id
    and peaks.run_number = bursts.run_number
inner join first_events
    on first_events.portal_id = bursts.portal_id
    and first_events.user_id = bursts.user_id
    and first_events.run_number = bursts.run_number
    and first_events.position = 1
left join ip_addresses
    on ip_addresses.portal_id = bursts.portal_id
    and ip_addresses.user_id = bursts.user_id
    and ip_addresses.run_number = bursts.run_number
left join countries
    on countries.portal_id = bursts.portal_id
    and countries.user_id = bursts.user_id
    and countries.run_number = bursts.run_number
left join user_agents
    on user_agents.portal_id = bursts.portal_id
    and user_agents.user_id = bursts.user_id
    and user_agents.run_number = bursts.run_number
left join successes
    on successes.portal_id = bursts.portal_id
    and successes.user_id = bursts.user_id
    and successes.run_number = bursts.run_number
    and successes.position = 1
left join burst_ips as success_ips
    on success_ips.portal_id = bursts.portal_id
    and success_ips.user_id = bursts.user_id
    and success_ips.run_number = bursts.run_number
    and success_ips.ip_address = successes.ip_address
