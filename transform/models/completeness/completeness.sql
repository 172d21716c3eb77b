{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['manifest_id'],
        indexes=[{'columns': ['manifest_id'], 'unique': True}],
        post_hook=["{{ hs_save_watermark([ref('stg_sync_manifests')]) }}"],
    )
}}

-- depends_on: {{ ref('activity_events') }}
-- One row per manifest: the events it says the tap emitted, and how many of them the
-- warehouse lacks (with up to 20 of their ids). events_missing > 0 fails the data test
-- warehouse_holds_every_manifested_event. A run killed between two of the loader's
-- batches shows here until the next run (its lookback re-reads what was not
-- bookmarked) or the verification job loads the events again.
-- Incremental: the manifests loaded since the last build, those still incomplete (the
-- verification job may have loaded their events since) and, when a loaded table now
-- holds fewer rows than the timeline ever read from it (rows deleted there), every
-- manifest of that stream, are checked again; the others keep their row. A first build
-- or a full refresh checks every manifest against the loaded tables.
{%- set sources = {'login_activity': 'login', 'audit_logs': 'audit',
                   'security_activity': 'security', 'cms_content_audit': 'cms'} %}
{%- set lost = hs_streams_that_lost_rows(sources) if is_incremental() else sources.keys() | list %}

with rechecked as (
    select manifest_id
    from {{ ref('stg_sync_manifests') }}
    {%- if is_incremental() %}
    where loaded_at > {{ hs_watermark() }}
    union
    select manifest_id
    from {{ this }}
    where status = 'incomplete'
    {%- if lost %}
    union
    select manifest_id
    from {{ ref('stg_sync_manifests') }}
    where stream in ('{{ lost | join("', '") }}')
    {%- endif %}
    {%- endif %}
),

listed as (
    select listed.*
    from {{ ref('manifest_events') }} as listed
    inner join rechecked
        on rechecked.manifest_id = listed.manifest_id
),

-- A listed event is held when the loaded table has it; for a stream that lost no row,
-- the timeline (which read every row of it, and has a unique index on the key) says so.
missing as (
    select
        listed.manifest_id,
        listed.event_id,
        row_number() over (partition by listed.manifest_id order by listed.event_id) as position
    from listed
    where (
        {%- if lost %}
        listed.stream in ('{{ lost | join("', '") }}')
        and not exists (
            select 1
            from {{ ref('warehouse_events') }} as held
            where held.portal_id = listed.portal_id
                and held.stream = listed.stream
                and held.event_id = listed.event_id
        )
        {%- else %}
        1 = 0
        {%- endif %}
    )
    {%- if is_incremental() %}
    or (
        listed.stream not in ('{{ lost | join("', '") }}')
        and not exists (
            select 1
            from {{ ref('activity_events') }} as held
            where held.portal_id = listed.portal_id
                and held.source = case listed.stream
                    {%- for stream, source in sources.items() %}
                    when '{{ stream }}' then '{{ source }}'
                    {%- endfor %}
                end
                and held.event_id = listed.event_id
        )
    )
    {%- endif %}
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
inner join rechecked
    on rechecked.manifest_id = manifests.manifest_id
left join missing_per_manifest
    on missing_per_manifest.manifest_id = manifests.manifest_id
