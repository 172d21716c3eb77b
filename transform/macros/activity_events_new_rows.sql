{#-
  The incremental filter of activity_events for one source: rows loaded since the
  newest load already in the table for that source, minus a lookback, so rows committed
  by a load that overlapped the previous dbt run are not missed. Re-read rows replace
  their earlier copy (delete+insert on the unique key), so the overlap adds nothing.
-#}
{% macro activity_events_new_rows(source_name) %}
  {%- if is_incremental() -%}
    where loaded_at is null
       or loaded_at > coalesce(
            (
                select {{ dbt.dateadd('minute', -1 * (var('activity_events_lookback_minutes') | int), 'max(loaded_at)') }}
                from {{ this }}
                where source = '{{ source_name }}'
            ),
            cast('1970-01-01 00:00:00+00:00' as {{ hs_type_timestamptz() }})
          )
  {%- endif -%}
{% endmacro %}
