-- What the verification job (tap-hubspot-activity--verify, purpose verification) found
-- to differ from what earlier runs emitted, one row per event and kind:
--   late_arrival: HubSpot now returns an event inside a range a normal run had read
--     and closed without it (recorded later than the lookback covered); the
--     verification job has loaded it since, so it is healed.
--   missing_from_hubspot: the warehouse holds an event, loaded before a verification
--     re-read its range, that HubSpot no longer returned, inside HubSpot's retention
--     (deleted at HubSpot; manifests carry ids, not contents, so an event changed in
--     place is not seen).
-- Only unfiltered reads ({} filter) are compared: a user_ids filter reads a subset.
with listed as (
    select * from {{ ref('manifest_events') }}
    where read_filter = '{}'
),

extraction_ranges as (
    select portal_id, stream, range_start, range_end, extracted_at
    from {{ ref('stg_sync_manifests') }}
    where purpose = 'extraction' and read_filter = '{}'
),

verification_ranges as (
    select portal_id, stream, manifest_id, range_start, range_end, extracted_at
    from {{ ref('stg_sync_manifests') }}
    where purpose = 'verification' and read_filter = '{}'
),

held as (
    select * from {{ ref('warehouse_events') }}
),

late as (
    select
        verified.portal_id,
        verified.stream,
        verified.event_id,
        min(verified.extracted_at) as detected_at
    from listed as verified
    where verified.purpose = 'verification'
        and not exists (
            select 1
            from listed as emitted
            where emitted.purpose = 'extraction'
                and emitted.portal_id = verified.portal_id
                and emitted.stream = verified.stream
                and emitted.event_id = verified.event_id
        )
    group by verified.portal_id, verified.stream, verified.event_id
),

late_arrivals as (
    select
        late.portal_id,
        late.stream,
        late.event_id,
        held.occurred_at,
        'late_arrival' as drift_type,
        late.detected_at
    from late
    inner join held
        on held.portal_id = late.portal_id
        and held.stream = late.stream
        and held.event_id = late.event_id
    where exists (
        select 1
        from extraction_ranges
        where extraction_ranges.portal_id = late.portal_id
            and extraction_ranges.stream = late.stream
            and extraction_ranges.range_start <= held.occurred_at
            and held.occurred_at < extraction_ranges.range_end
            and extraction_ranges.extracted_at < late.detected_at
    )
),

vanished as (
    select
        held.portal_id,
        held.stream,
        held.event_id,
        held.occurred_at,
        'missing_from_hubspot' as drift_type,
        min(verification_ranges.extracted_at) as detected_at
    from held
    inner join verification_ranges
        on verification_ranges.portal_id = held.portal_id
        and verification_ranges.stream = held.stream
        and verification_ranges.range_start <= held.occurred_at
        and held.occurred_at < verification_ranges.range_end
        and held.loaded_at < verification_ranges.extracted_at
    where (
            held.stream <> 'login_activity'
            or held.occurred_at >= {{ dbt.dateadd('day', -var('login_retention_days'), 'verification_ranges.extracted_at') }}
        )
        and not exists (
            select 1
            from listed
            where listed.manifest_id = verification_ranges.manifest_id
                and listed.event_id = held.event_id
        )
    group by held.portal_id, held.stream, held.event_id, held.occurred_at
)

select * from late_arrivals
union all
select * from vanished
