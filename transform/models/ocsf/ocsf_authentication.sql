-- OCSF Authentication (3002): every login attempt (activity 1 Logon, status from
-- loginSucceeded), HubSpot's impersonation of a user (activity 7 Account Switch: actor
-- is who switched, user whose account they used) and 2FA-protected endpoint checks
-- (security history). is_mfa is left out: HubSpot does not say whether a login used
-- a second factor.
with logins as (
    select
        portal_id,
        id as event_uid,
        occurred_at,
        loaded_at,
        1 as activity_id,
        cast(null as {{ dbt.type_string() }}) as activity_name,
        case when login_succeeded then 1 when not login_succeeded then 2 else 0 end as severity_id,
        case when login_succeeded then 1 when not login_succeeded then 2 else 0 end as status_id,
        case
            when login_succeeded then 'HubSpot login succeeded'
            when not login_succeeded then 'HubSpot login failed'
            else 'HubSpot login'
        end as message,
        'login' as hubspot_source,
        case
            when login_succeeded then 'auth.login_succeeded'
            when not login_succeeded then 'auth.login_failed'
            else 'auth.login_unknown'
        end as hubspot_action,
        false as is_unmapped,
        cast(null as {{ dbt.type_string() }}) as actor_user_uid,
        cast(null as {{ dbt.type_string() }}) as actor_user_email,
        {{ hs_as_text('user_id') }} as user_uid,
        email as user_email,
        ip_address as src_ip,
        cast(null as {{ hs_type_json() }}) as actor_json,
        {{ ocsf_user('user_id', 'email', required=true) }} as user_json,
        {{ ocsf_src_endpoint('ip_address', 'country_code', 'region_code', 'location') }} as src_endpoint_json,
        case
            when user_agent is not null then {{ ocsf_object([['user_agent', 'user_agent']]) }}
        end as http_request_json,
        case
            when ip_address is null
                and (location is not null or country_code is not null or region_code is not null) then
                {{ ocsf_object([
                    ['location', 'location'],
                    ['countryCode', 'country_code'],
                    ['regionCode', 'region_code'],
                ]) }}
        end as unmapped
    from {{ ref('stg_login_activity') }}
),

security as (
    {{ ocsf_security_rows([3002]) }}
),

mapped as (
    select
        portal_id, event_uid, occurred_at, loaded_at, activity_id, activity_name,
        severity_id, status_id, message, hubspot_source, hubspot_action, is_unmapped,
        actor_user_uid, actor_user_email, user_uid, user_email, src_ip, actor_json,
        user_json, src_endpoint_json, http_request_json, unmapped
    from logins
    union all
    select
        portal_id, event_uid, occurred_at, loaded_at, activity_id, activity_name,
        severity_id, status_id, message, hubspot_source, hubspot_action, is_unmapped,
        actor_user_uid, actor_user_email, user_uid, user_email, src_ip, actor_json,
        user_json, src_endpoint_json, cast(null as {{ hs_type_json() }}) as http_request_json,
        unmapped
    from security
),

{{ ocsf_select('mapped', 3002, [
    ['actor', 'actor_json'],
    ['user', 'user_json'],
    ['src_endpoint', 'src_endpoint_json'],
    ['http_request', 'http_request_json'],
    ['service', ocsf_object([['name', "'HubSpot'"]])],
]) }}
