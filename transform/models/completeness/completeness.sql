-- One row per manifest: the events it says the tap emitted, and how many of them the
-- warehouse lacks (with up to 20 of their ids). events_missing > 0 fails the data test
-- warehouse_holds_every_manifested_event. A run killed between two of the loader's
-- batches shows here until the next run (its lookback re-reads what was not
-- bookmarked) or the verification job loads the events again.
with listed as (
    select * from {{ ref('manifest_events') }}
),

held as (
    select distinct portal_id, stream, event_id
    from {{ ref('warehouse_events') }}
),

missing as (
    select
        listed.manifest_id,
        listed.event_id,
        row_number() over (partition by listed.manifest_id order by listed.event_id) as position
    from listed
    left join held
        on held.portal_id = listed.portal_id
        and held.stream = listed.stream
        and held.event_id = listed.event_id
    where held.event_id is null
),

missing_per_manifest as (
    select
        manifest_id,
        cast(count(*) as {{ dbt.type_bigint() }}) as events_missing,
        -- The first 20 (listagg's own limit is not portable: nulls are skipped instead).
        {{ dbt.listagg('case when position <= 20 then event_id end', "', '", 'order by event_id') }} as missing_event_ids
    from missing
    group by manifest_id
)

select
    manifests.portal_id,
    manifests.stream,
    manifests.manifest_id,
    manifests.purpose,
    manifests.read_filter,
    manifests.range_start,
    manifests.range_end,
    manifests.record_count,
    manifests.extracted_at,
    manifests.sync_started_at,
    coalesce(missing_per_manifest.events_missing, 0) as events_missing,
    missing_per_manifest.missing_event_ids,
    case
        when missing_per_manifest.events_missing is null then 'complete'
        else 'incomplete'
    end as status
from {{ ref('stg_sync_manifests') }} as manifests
left join missing_per_manifest
    on missing_per_manifest.manifest_id = manifests.manifest_id
