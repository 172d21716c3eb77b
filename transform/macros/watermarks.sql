{#-
  The watermarks of the incremental models (table hubspot_activity_watermarks, beside the
  models): what each watermarked model last read, and what staging held as a build began.
  How they are used: macros/incremental.sql.
-#}

{#- The table of watermarks, beside the models. -#}
{% macro hs_watermarks_relation() -%}
  {{ return(api.Relation.create(database=target.database, schema=target.schema,
                                identifier='hubspot_activity_watermarks')) }}
{%- endmacro %}


{#- on-run-start: the watermarks table exists before any model reads it. -#}
{% macro hs_create_watermarks() -%}
  create schema if not exists {{ adapter.quote(target.schema) if target.type == 'postgres' else target.schema }};
  create table if not exists {{ hs_watermarks_relation() }} (
    model_name {{ dbt.type_string() }},
    loaded_through {{ dbt.type_timestamp() }},
    previous_loaded_through {{ dbt.type_timestamp() }}
  )
{%- endmacro %}


{#- The watermarks row of hs_record_staged_through (not a model's name). -#}
{% macro hs_staged_through_name() -%}
  {{ return('hs_staged_through') }}
{%- endmacro %}


{#- on-run-start: the newest loaded_at that staging holds as the build begins, the most
    that any model below staging can have read. A staging model gives a copy it finds
    loaded at or before it a loaded_at just past it (hs_staged_loaded_at). -#}
{% macro hs_record_staged_through() -%}
  {%- set held = [] -%}
  {%- for name in ['stg_login_activity', 'stg_audit_logs', 'stg_security_activity',
                   'stg_cms_content_audit', 'stg_sync_manifests'] -%}
    {%- set relation = adapter.get_relation(database=target.database, schema=target.schema, identifier=name) if execute else none -%}
    {%- if relation is not none -%}{%- do held.append(relation) -%}{%- endif -%}
  {%- endfor -%}
  delete from {{ hs_watermarks_relation() }} where model_name = '{{ hs_staged_through_name() }}'
  {%- if held %};
  insert into {{ hs_watermarks_relation() }} (model_name, loaded_through, previous_loaded_through)
  select '{{ hs_staged_through_name() }}', max(loaded_at), null
  from (
    {%- for relation in held %}
    select {{ hs_naive_utc('max(loaded_at)') }} as loaded_at from {{ relation }}
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
  ) as staged
  {%- endif %}
{%- endmacro %}


{#- SQL for the cutoff of a watermarked model: the newest load it had read; the epoch
    when it has none (a first build, a full refresh, a new model). -#}
{% macro hs_watermark() -%}
  {%- if is_incremental() -%}
  {{ hs_cutoff(this.identifier, 'loaded_through') }}
  {%- else -%}
  {{ hs_epoch() }}
  {%- endif -%}
{%- endmacro %}


{#- A watermark of `model_name`, or the epoch, as a literal. -#}
{% macro hs_cutoff(model_name, column) -%}
  {%- set newest -%}
    select cast(max({{ column }}) as {{ dbt.type_string() }})
    from {{ hs_watermarks_relation() }}
    where model_name = '{{ model_name }}'
  {%- endset -%}
  {{ return(hs_utc_literal(newest)) }}
{%- endmacro %}


{#- Post-hook: record the newest loaded_at of `inputs` (relations with a loaded_at
    column) as this model's watermark, and the one it replaces as the previous (none
    after a full refresh: then everything was built again). It runs after the model's
    statement, in the same build: the inputs are staging or models that this build's
    earlier nodes wrote, and nothing else writes them in between. -#}
{% macro hs_save_watermark(inputs) -%}
  {%- set newest -%}
    select {{ hs_naive_utc('max(loaded_at)') }} as newest_loaded_through
    from (
      {%- for input in inputs %}
      select max(loaded_at) as loaded_at from {{ input }}
      {%- if not loop.last %} union all{% endif %}
      {%- endfor %}
    ) as inputs
  {%- endset -%}
  update {{ hs_watermarks_relation() }}
  set previous_loaded_through = {{ 'null' if flags.FULL_REFRESH else 'loaded_through' }},
      loaded_through = newest.newest_loaded_through
  from ({{ newest }}) as newest
  where model_name = '{{ this.identifier }}';
  insert into {{ hs_watermarks_relation() }} (model_name, loaded_through, previous_loaded_through)
  select '{{ this.identifier }}', newest.newest_loaded_through, null
  from ({{ newest }}) as newest
  where not exists (
    select 1 from {{ hs_watermarks_relation() }} where model_name = '{{ this.identifier }}'
  )
{%- endmacro %}
