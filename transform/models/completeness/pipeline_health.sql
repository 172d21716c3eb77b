-- One row per portal and stream: is the pipeline alive, and how long until HubSpot's
-- retention takes events that were never extracted? Load times are the loader's
-- (_sdc_batched_at): a quiet portal is not a stale pipeline, because every run writes
-- sync_manifests rows, events or not.
with held as (
    select
        portal_id,
        stream,
        max(occurred_at) as last_event_at,
        max(loaded_at) as last_event_load_at,
        cast(count(*) as {{ dbt.type_bigint() }}) as events_held
    from {{ ref('warehouse_events') }}
    group by portal_id, stream
),

manifested as (
    select
        portal_id,
        stream,
        max(loaded_at) as last_manifest_load_at,
        max(range_end) as extracted_until,
        max(case when purpose = 'verification' then extracted_at end) as last_verified_at
    from {{ ref('stg_sync_manifests') }}
    group by portal_id, stream
),

missing as (
    select portal_id, stream, cast(sum(events_missing) as {{ dbt.type_bigint() }}) as events_missing
    from {{ ref('completeness') }}
    group by portal_id, stream
),

streams as (
    select portal_id, stream from held
    union
    select portal_id, stream from manifested
),

measured as (
    select
        streams.portal_id,
        streams.stream,
        held.last_event_at,
        case
            when manifested.last_manifest_load_at is null then held.last_event_load_at
            when held.last_event_load_at is null then manifested.last_manifest_load_at
            when manifested.last_manifest_load_at > held.last_event_load_at then manifested.last_manifest_load_at
            else held.last_event_load_at
        end as last_load_at,
        manifested.extracted_until,
        manifested.last_verified_at,
        coalesce(held.events_held, 0) as events_held,
        coalesce(missing.events_missing, 0) as events_missing
    from streams
    left join held
        on held.portal_id = streams.portal_id and held.stream = streams.stream
    left join manifested
        on manifested.portal_id = streams.portal_id and manifested.stream = streams.stream
    left join missing
        on missing.portal_id = streams.portal_id and missing.stream = streams.stream
),

aged as (
    select
        measured.*,
        cast({{ dbt.datediff('last_load_at', dbt.current_timestamp(), 'hour') }} as {{ dbt.type_bigint() }}) as hours_since_last_load,
        -- Login history is kept 90 days: what happened after the last load is lost
        -- once the last load is that old.
        case
            when stream = 'login_activity'
                then {{ var('login_retention_days') }}
                    - {{ dbt.datediff('last_load_at', dbt.current_timestamp(), 'day') }}
        end as retention_days_left
    from measured
)

select
    portal_id,
    stream,
    last_event_at,
    last_load_at,
    hours_since_last_load,
    retention_days_left,
    extracted_until,
    last_verified_at,
    events_held,
    events_missing,
    case
        when retention_days_left is not null and retention_days_left <= 0 then 'events_lost'
        when retention_days_left is not null
            and retention_days_left <= {{ var('login_retention_warn_days') }} then 'retention_at_risk'
        when hours_since_last_load > {{ var('pipeline_stale_after_hours') }} then 'stale'
        when events_missing > 0 then 'incomplete'
        else 'ok'
    end as status
from aged
