{#-
  The rows of `cte` numbered per (portal_id, id), the copy loaded last first: a staging
  model keeps `copy_number = 1`, so an event re-read by the tap's lookback counts once.
-#}
{% macro latest_copy(cte) %}
    select
        {{ cte }}.*,
        row_number() over (
            partition by portal_id, id
            order by loaded_at desc nulls last, occurred_at desc
        ) as copy_number
    from {{ cte }}
{% endmacro %}
