-- First login of a user from a new country: a successful login from a country the
-- user had never logged in from before, once the user has at least
-- `new_country_min_prior_logins` earlier successful logins (the first login of a user
-- only sets their baseline). Failed attempts neither count nor set the baseline, so an
-- attacker's failures from abroad do not make that country "known". The baseline is
-- the login history loaded (HubSpot keeps 90 days).

-- Incremental: the users with logins loaded since the last build are computed again
-- from their whole login history (a late login moves the positions) and replace theirs.
-- Configured in dbt_project.yml (detections/per_user): incremental per user.

{#- At least 1: a user's first login has no known country to differ from. #}
{%- set min_prior_logins = [var('new_country_min_prior_logins') | int, 1] | max %}

with logins as (
    select
        portal_id,
        event_id,
        occurred_at,
        actor_user_id as user_id,
        actor_email as email,
        ip_address,
        country_code,
        region_code,
        location,
        user_agent,
        loaded_at
    from {{ ref('activity_events') }} as events
    where events.action = 'auth.login_succeeded'
      and events.actor_user_id is not null
      and events.country_code is not null
      and {{ hs_user_has_new_logins('events') }}
),

ordered as (
    select
        logins.*,
        row_number() over (
            partition by portal_id, user_id order by occurred_at, event_id
        ) - 1 as prior_logins,
        row_number() over (
            partition by portal_id, user_id, country_code order by occurred_at, event_id
        ) as country_login_number,
        lag(occurred_at) over (
            partition by portal_id, user_id order by occurred_at, event_id
        ) as previous_login_at,
        lag(country_code) over (
            partition by portal_id, user_id order by occurred_at, event_id
        ) as previous_country_code,
        lag(ip_address) over (
            partition by portal_id, user_id order by occurred_at, event_id
        ) as previous_ip_address,
        lag(location) over (
            partition by portal_id, user_id order by occurred_at, event_id
        ) as previous_location
    from logins
),

-- Each user's first login from each country, with its position in their history.
country_firsts as (
    select portal_id, user_id, country_code, prior_logins as position
    from ordered
    where country_login_number = 1
),

new_countries as (
    select *
    from ordered
    where country_login_number = 1
      and prior_logins >= {{ min_prior_logins }}
),

known as (
    select
        new_countries.portal_id,
        new_countries.event_id,
        count(*) as known_countries,
        {{ dbt.listagg('country_firsts.country_code', "', '", 'order by country_firsts.country_code') }} as known_country_codes
    from new_countries
    inner join country_firsts
        on country_firsts.portal_id = new_countries.portal_id
        and country_firsts.user_id = new_countries.user_id
        and country_firsts.position < new_countries.prior_logins
    group by new_countries.portal_id, new_countries.event_id
)

select
    new_countries.portal_id,
    new_countries.event_id,
    new_countries.occurred_at,
    new_countries.user_id,
    new_countries.email,
    new_countries.country_code,
    new_countries.region_code,
    new_countries.location,
    new_countries.ip_address,
    new_countries.user_agent,
    known.known_country_codes,
    known.known_countries,
    new_countries.prior_logins,
    new_countries.previous_login_at,
    new_countries.previous_country_code,
    new_countries.previous_location,
    new_countries.previous_ip_address,
    cast(
        {{ dbt.datediff('new_countries.previous_login_at', 'new_countries.occurred_at', 'minute') }}
        as {{ dbt.type_bigint() }}
    ) as minutes_since_previous_login,
    new_countries.loaded_at
from new_countries
inner join known
    on known.portal_id = new_countries.portal_id
    and known.event_id = new_countries.event_id
