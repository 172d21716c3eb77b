-- One row per security activity: typed, snake_case, one row per (portal_id, id).
-- The user it acts on (object_id) is indexed too: OCSF re-reads a renamed user's rows.
{{
    config(
        indexes=[
            {'columns': ['portal_id', 'id'], 'unique': True},
            {'columns': ['loaded_at']},
            {'columns': ['portal_id', 'object_id']},
        ]
    )
}}
with source as (
    {{ hubspot_source('security_activity') }}
),

typed as (
    select
        cast({{ hs_col('portalId') }} as {{ dbt.type_bigint() }}) as portal_id,
        {{ hs_as_text(hs_col('id')) }} as id,
        {{ hs_utc(hs_col('occurredAt')) }} as occurred_at,
        {{ hs_utc(hs_col('createdAt')) }} as created_at,
        upper({{ hs_text(hs_col('type')) }}) as activity_type,
        cast({{ hs_col('userId') }} as {{ dbt.type_bigint() }}) as user_id,
        {{ hs_text(hs_col('actingUser')) }} as acting_user_email,
        {{ hs_text(hs_col('objectId')) }} as object_id,
        {{ hs_text(hs_col('infoUrl')) }} as info_url,
        {{ hs_text(hs_col('ipAddress')) }} as ip_address,
        {{ hs_text(hs_col('location')) }} as location,
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
    created_at,
    activity_type,
    user_id,
    acting_user_email,
    object_id,
    info_url,
    ip_address,
    location,
    country_code,
    region_code,
    {{ hs_staged_loaded_at() }} as loaded_at
from ranked
where copy_number = 1
