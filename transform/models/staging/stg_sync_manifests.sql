{{
    config(
        unique_key=['portal_id', 'manifest_id'],
        indexes=[
            {'columns': ['portal_id', 'manifest_id'], 'unique': True},
            {'columns': ['loaded_at']},
        ],
    )
}}

-- One row per range the tap read (its sync_manifests stream): typed, snake_case.
with source as (
    {{ hubspot_source('sync_manifests') }}
),

typed as (
    select
        cast({{ hs_col('portalId') }} as {{ dbt.type_bigint() }}) as portal_id,
        {{ hs_as_text(hs_col('id')) }} as id,
        {{ hs_as_text(hs_col('stream')) }} as stream,
        {{ hs_as_text(hs_col('filter')) }} as read_filter,
        {{ hs_utc(hs_col('range_start')) }} as range_start,
        {{ hs_utc(hs_col('range_end')) }} as range_end,
        cast({{ hs_col('record_count') }} as {{ dbt.type_bigint() }}) as record_count,
        {{ hs_col('ids') }} as ids,
        {{ hs_utc(hs_col('first_occurred_at')) }} as first_occurred_at,
        {{ hs_utc(hs_col('last_occurred_at')) }} as last_occurred_at,
        {{ hs_utc(hs_col('extracted_at')) }} as extracted_at,
        {{ hs_utc(hs_col('sync_started_at')) }} as sync_started_at,
        {{ hs_as_text(hs_col('purpose')) }} as purpose,
        {{ hs_as_text(hs_col('tap_version')) }} as tap_version,
        {{ hs_utc(hs_col('_sdc_batched_at')) }} as loaded_at,
        -- latest_copy orders copies by occurred_at after loaded_at.
        {{ hs_utc(hs_col('extracted_at')) }} as occurred_at
    from source
),

-- Incremental: the copies the loader wrote since the last build (with a lookback)
-- that this table does not hold yet.
new_rows as (
    select * from typed
    {{ hs_new_copies('typed', key='manifest_id') }}
),

ranked as (
    {{ latest_copy('new_rows') }}
)

select
    portal_id,
    id as manifest_id,
    stream,
    read_filter,
    range_start,
    range_end,
    record_count,
    ids,
    first_occurred_at,
    last_occurred_at,
    extracted_at,
    sync_started_at,
    purpose,
    tap_version,
    {{ hs_staged_loaded_at() }} as loaded_at
from ranked
where copy_number = 1
