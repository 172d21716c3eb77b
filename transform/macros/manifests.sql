{#-
  Helpers of the completeness models: the id list of a sync_manifests row, one row per
  id, on PostgreSQL (target-postgres writes a text[] column) and Snowflake
  (target-snowflake writes an ARRAY/VARIANT).
-#}

{#- The type of the ids column when the loader has not created the table yet. -#}
{% macro hs_type_text_array() -%}
  {{ return(adapter.dispatch('hs_type_text_array', 'hubspot_activity')()) }}
{%- endmacro %}

{% macro default__hs_type_text_array() -%}text[]{%- endmacro %}

{% macro snowflake__hs_type_text_array() -%}array{%- endmacro %}


{#- `select <columns>, <id> as event_id from <relation>` with one row per element of
    its ids column (a manifest without ids gives no row). -#}
{% macro hs_unnest_ids(relation, columns) -%}
  {{ return(adapter.dispatch('hs_unnest_ids', 'hubspot_activity')(relation, columns)) }}
{%- endmacro %}

{% macro default__hs_unnest_ids(relation, columns) -%}
  select
    {%- for column in columns %}
    manifests.{{ column }},
    {%- endfor %}
    listed.event_id
  from {{ relation }} as manifests
  cross join lateral unnest(manifests.ids) as listed(event_id)
{%- endmacro %}

{% macro snowflake__hs_unnest_ids(relation, columns) -%}
  select
    {%- for column in columns %}
    manifests.{{ column }},
    {%- endfor %}
    listed.value::{{ dbt.type_string() }} as event_id
  from {{ relation }} as manifests,
    lateral flatten(input => manifests.ids) as listed
{%- endmacro %}
