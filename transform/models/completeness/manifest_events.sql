{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['manifest_id'],
        indexes=[
            {'columns': ['manifest_id']},
            {'columns': ['portal_id', 'stream', 'event_id']},
        ],
    )
}}

-- One row per event a manifest says the tap emitted: the manifests' id lists, unnested.
-- Incremental: a manifest never changes once written (its id names its run), so only
-- the manifests loaded since the last build are unnested.
with manifests as (
    select *
    from {{ ref('stg_sync_manifests') }}
    {{ hs_loaded_after_this() }}
)

{{ hs_unnest_ids('manifests', ['portal_id', 'manifest_id', 'stream', 'read_filter', 'purpose',
                               'range_start', 'range_end', 'extracted_at', 'loaded_at']) }}
