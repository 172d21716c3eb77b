-- One row per audit log entry: typed, snake_case, one row per (portal_id, id).
with source as (
    {{ hubspot_source('audit_logs') }}
),

typed as (
    select
        cast({{ hs_col('portalId') }} as {{ dbt.type_bigint() }}) as portal_id,
        {{ hs_as_text(hs_col('id')) }} as id,
        {{ hs_utc(hs_col('occurredAt')) }} as occurred_at,
        {{ hs_text(hs_col('category')) }} as category,
        {{ hs_text(hs_col('subCategory')) }} as sub_category,
        {{ hs_text(hs_col('action')) }} as action,
        {{ hs_text(hs_col('targetObjectId')) }} as target_object_id,
        cast({{ hs_json_text(hs_col('actingUser'), 'userId') }} as {{ dbt.type_bigint() }}) as acting_user_id,
        {{ hs_text(hs_json_text(hs_col('actingUser'), 'userEmail')) }} as acting_user_email,
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
    category,
    sub_category,
    action,
    target_object_id,
    acting_user_id,
    acting_user_email,
    {{ hs_staged_loaded_at() }} as loaded_at
from ranked
where copy_number = 1
