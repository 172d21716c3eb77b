-- One row per CMS content audit entry: typed, snake_case, one row per (portal_id, id).
-- The stream is optional (the tap's cms_content_audit setting): without its table this
-- is empty.
with source as (
    {{ hubspot_source('cms_content_audit') }}
),

typed as (
    select
        cast({{ hs_col('portalId') }} as {{ dbt.type_bigint() }}) as portal_id,
        {{ hs_as_text(hs_col('id')) }} as id,
        {{ hs_utc(hs_col('occurredAt')) }} as occurred_at,
        upper({{ hs_text(hs_col('event')) }}) as event,
        upper({{ hs_text(hs_col('objectType')) }}) as object_type,
        {{ hs_text(hs_col('objectId')) }} as object_id,
        {{ hs_text(hs_col('objectName')) }} as object_name,
        {{ hs_digits_as_bigint(hs_text(hs_col('userId'))) }} as user_id,
        {{ hs_text(hs_col('userId')) }} as user_id_text,
        {{ hs_text(hs_col('fullName')) }} as full_name,
        {{ hs_col('meta') }} as meta,
        {{ hs_text(hs_col('timestamp')) }} as hubspot_timestamp,
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
    event,
    object_type,
    object_id,
    object_name,
    user_id,
    user_id_text,
    full_name,
    meta,
    hubspot_timestamp,
    {{ hs_staged_loaded_at() }} as loaded_at
from ranked
where copy_number = 1
