{#- The streams (keys of `sources`, the tap's stream names, mapped to activity_events'
    source) whose loaded table holds fewer events than the timeline ever read from it:
    rows were deleted there, by hand or by a loader. Counted when the node runs, so the
    completeness model knows which streams to check again against the loaded tables
    (every other stream is checked against the timeline's unique index, which is cheap
    for the few new manifests of an hour). A deletion made while a load adds as many
    rows is seen one build later, when the timeline has read the new rows. -#}
{% macro hs_streams_that_lost_rows(sources) -%}
  {%- if not execute -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set counts -%}
    with loaded as (
        select stream, count(*) as events
        from {{ ref('warehouse_events') }}
        group by stream
    ),

    timeline as (
        select
            case source
            {%- for stream, source in sources.items() %}
                when '{{ source }}' then '{{ stream }}'
            {%- endfor %}
            end as stream,
            count(*) as events
        from {{ ref('activity_events') }}
        group by source
    )

    select timeline.stream
    from timeline
    left join loaded
        on loaded.stream = timeline.stream
    where coalesce(loaded.events, 0) < timeline.events
    order by timeline.stream
  {%- endset -%}
  {{ return(run_query(counts).columns[0].values() | list) }}
{%- endmacro %}
