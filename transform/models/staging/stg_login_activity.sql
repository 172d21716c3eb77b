-- One row per login attempt: typed, snake_case, one row per (portal_id, id).
with source as (
    {{ hubspot_source('login_activity') }}
),

typed as (
    select
        cast({{ hs_col('portalId') }} as {{ dbt.type_bigint() }}) as portal_id,
        {{ hs_as_text(hs_col('id')) }} as id,
        {{ hs_utc(hs_col('occurredAt')) }} as occurred_at,
        {{ hs_utc(hs_col('loginAt')) }} as login_at,
        cast({{ hs_col('loginSucceeded') }} as {{ dbt.type_boolean() }}) as login_succeeded,
        cast({{ hs_col('userId') }} as {{ dbt.type_bigint() }}) as user_id,
        {{ hs_text(hs_col('email')) }} as email,
        {{ hs_text(hs_col('ipAddress')) }} as ip_address,
        {{ hs_text(hs_col('location')) }} as location,
        {{ hs_text(hs_col('userAgent')) }} as user_agent,
        lower({{ hs_text(hs_col('countryCode')) }}) as country_code,
        lower({{ hs_text(hs_col('regionCode')) }}) as region_code,
        {{ hs_utc(hs_col('_sdc_batched_at')) }} as loaded_at
    from source
),

-- Incremental: the copies the loader wrote since the last build (with a lookback)
-- that this table does not hold yet.
new_rows as (
    select * from typed
    {{ hs_new_copies('typed') }}
),

ranked as (
    {{ latest_copy('new_rows') }}
)

select
    portal_id,
    id,
    occurred_at,
    login_at,
    login_succeeded,
    user_id,
    email,
    ip_address,
    location,
    user_agent,
    country_code,
    region_code,
    {{ hs_staged_loaded_at() }} as loaded_at
from ranked
where copy_number = 1
