-- One row per event a manifest says the tap emitted: the manifests' id lists, unnested.
with manifests as (
    select * from {{ ref('stg_sync_manifests') }}
)

{{ hs_unnest_ids('manifests', ['portal_id', 'manifest_id', 'stream', 'read_filter', 'purpose',
                               'range_start', 'range_end', 'extracted_at']) }}
