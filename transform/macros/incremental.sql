{#-
  How the models build incrementally. Every model reads by load time (loaded_at, the
  loader's _sdc_batched_at carried through), never by event time: the tap's lookback
  and the verification job re-load old events, and those must reach every model.

  Two kinds of cutoff, both minus `incremental_lookback_minutes` so rows a load
  committed while the previous build ran are read again (re-read rows replace their
  copy through the model's unique key, so the overlap adds nothing):
  - hs_loaded_after_this: a model where every new input row gives an output row with
    its loaded_at (staging, activity_events) reads what is newer than its own newest.
  - hs_watermark: a model that may give no row for new input (a detection that finds
    nothing, a per-user aggregate) keeps the newest load of its inputs, as it read them,
    in the table hubspot_activity_watermarks (one row per model, written by the post-hook
    hs_save_watermark), and reads what was loaded after it.
  A full refresh ignores both and reads everything.
-#}

{% macro hs_lookback_minutes() -%}
  {{ return(var('incremental_lookback_minutes') | int) }}
{%- endmacro %}


{#- The epoch as a loaded_at is typed (hs_utc of a naive timestamp): fakesnow will not
    compare a TIMESTAMP_TZ literal with the timestamps hs_utc gives there. -#}
{% macro hs_epoch() -%}
  {{ hs_utc("cast('1970-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}


{#- A loaded_at as a naive timestamp in UTC, the way the watermarks store it (and read
    it back with hs_utc), for the same reason. -#}
{% macro hs_naive_utc(expression) -%}
  {{ return(adapter.dispatch('hs_naive_utc', 'hubspot_activity')(expression)) }}
{%- endmacro %}

{% macro default__hs_naive_utc(expression) -%}
  ({{ expression }} at time zone 'UTC')
{%- endmacro %}

{% macro snowflake__hs_naive_utc(expression) -%}
  cast(convert_timezone('UTC', {{ expression }}) as timestamp_ntz)
{%- endmacro %}


{#- `where` clause: rows loaded after this model's newest loaded_at minus the lookback
    (all rows on a first build or a full refresh). `source_name`: only this model's rows
    of that source (activity_events keeps one cutoff per source). -#}
{% macro hs_loaded_after_this(source_name=none) -%}
  {%- if is_incremental() -%}
    {%- set newest -%}
      select cast({{ dbt.dateadd('minute', -1 * hs_lookback_minutes(), hs_naive_utc('max(loaded_at)')) }} as {{ dbt.type_string() }})
      from {{ this }}
      {%- if source_name is not none %}
      where source = '{{ source_name }}'
      {%- endif %}
    {%- endset -%}
    where loaded_at is null or loaded_at > {{ hs_utc_literal(newest) }}
  {%- endif -%}
{%- endmacro %}


{#- The one timestamp `query` selects (as text: a timestamp without time zone, in UTC,
    or null) as a literal timestamp in UTC, the epoch for null. Read when the node runs
    (dbt compiles each node just before running it, after the nodes it depends on), so
    the planner sees the value: as a subquery its estimate is a guess (a third of the
    rows), and PostgreSQL scanned a million-row table for the few hundred rows of an
    hour instead of using the loaded_at index. -#}
{% macro hs_utc_literal(query) -%}
  {%- if not execute -%}
    {{ return(hs_epoch()) }}
  {%- endif -%}
  {%- set value = run_query(query).columns[0].values()[0] -%}
  {%- if value is none -%}
    {{ return(hs_epoch()) }}
  {%- endif -%}
  {{ return(hs_utc("cast('" ~ value ~ "' as " ~ dbt.type_timestamp() ~ ")")) }}
{%- endmacro %}


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


{#- SQL for the cutoff of a watermarked model: the newest load it had read, minus the
    lookback; the epoch when it has none (a first build, a full refresh, a new model). -#}
{% macro hs_watermark() -%}
  {%- if is_incremental() -%}
  {{ hs_cutoff(this.identifier, 'loaded_through') }}
  {%- else -%}
  {{ hs_epoch() }}
  {%- endif -%}
{%- endmacro %}


{#- A watermark of `model_name` less the lookback, or the epoch, as a literal. -#}
{% macro hs_cutoff(model_name, column) -%}
  {%- set newest -%}
    select cast({{ dbt.dateadd('minute', -1 * hs_lookback_minutes(), 'max(' ~ column ~ ')') }} as {{ dbt.type_string() }})
    from {{ hs_watermarks_relation() }}
    where model_name = '{{ model_name }}'
  {%- endset -%}
  {{ return(hs_utc_literal(newest)) }}
{%- endmacro %}


{#- Post-hook: record the newest loaded_at of `inputs` (relations with a loaded_at
    column) as this model's watermark, and the one it replaces as the previous (none
    after a full refresh: then everything was built again). It runs after the model's
    statement; a row committed in between with an older loaded_at is within the
    lookback. -#}
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


{#- Data tests on the large incremental tables read only the rows the model's last build
    could have written (`where: "loaded_at is null or loaded_at > __built_last__"` in
    dbt_project.yml; a null is always read, so a not_null test still sees it): rows
    loaded after the previous watermark, less the lookback; every row after a first
    build or a full refresh. Older rows were tested when they were written and are not
    written again, and the unique indexes keep the keys unique over the whole table.
    dbt's documented way to template a test's `where`: get_where_subquery. -#}
{% macro get_where_subquery(relation) -%}
  {%- set where = config.get('where') -%}
  {%- if where -%}
    {#- __built_last__: this relation's watermark; __built_last_of_<model>__: another's
        (a view over that model's table). -#}
    {%- if '__built_last_of_' in where -%}
      {%- set watermark = where.split('__built_last_of_')[1].split('__')[0] -%}
      {%- set token = '__built_last_of_' ~ watermark ~ '__' -%}
      {%- set where = where | replace(token, hs_cutoff(watermark, 'previous_loaded_through')) -%}
    {%- elif '__built_last__' in where -%}
      {%- set cutoff = hs_cutoff(relation.identifier, 'previous_loaded_through') -%}
      {%- set where = where | replace('__built_last__', cutoff) -%}
    {%- endif -%}
    {%- set filtered -%}
      (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
  {%- else -%}
    {{ return(relation) }}
  {%- endif -%}
{%- endmacro %}


{#- Post-hook of every table and incremental model on PostgreSQL: fresh statistics, so
    the next model's plan does not guess (a new table has none until autovacuum runs,
    and a guessed plan of a detection ran for minutes where it takes milliseconds). -#}
{% macro hs_analyze() -%}
  {%- if target.type == 'postgres' and model.config.materialized in ('table', 'incremental') -%}
    analyze {{ this }}
  {%- endif -%}
{%- endmacro %}


{#- Pre-hook of ocsf_events: on an incremental build, the Detection Finding rows go
    before the whole class is inserted again (a finding can disappear: two bursts of one
    user join when a late failed login falls between them). -#}
{% macro ocsf_events_forget_findings() -%}
  {%- if is_incremental() -%}
    delete from {{ this }} where class_uid = 2004
  {%- endif -%}
{%- endmacro %}


{#- Condition for a detection that is computed per user: the user of `events` (rows of
    activity_events) has logins loaded since the watermark, so their whole login history
    is read again (always true outside an incremental build). -#}
{% macro hs_user_has_new_logins(events) -%}
  {%- if is_incremental() -%}
    exists (
        select 1
        from {{ ref('activity_events') }} as new_logins
        where new_logins.source = 'login'
          and new_logins.loaded_at > {{ hs_watermark() }}
          and new_logins.portal_id = {{ events }}.portal_id
          and new_logins.actor_user_id = {{ events }}.actor_user_id
    )
  {%- else -%}
    true
  {%- endif -%}
{%- endmacro %}


{#- The rows of `relation` (with portal_id and loaded_at) that meet `condition` (on the
    alias `rows`) and were loaded since the watermark, or name a user (`user_column`,
    the user id as text) whose newest e-mail (int_user_emails) was loaded since: all of
    them outside an incremental build. Two branches, not one `or`: each reads an index
    (loaded_at; the user column), where an `or` with a subquery scanned every row. -#}
{% macro hs_loaded_or_renamed(relation, user_column, condition='1 = 1') -%}
select rows.*
from {{ relation }} as rows
where {{ condition }}
{%- if is_incremental() %}
{%- set watermark = hs_watermark() %}
    and rows.loaded_at > {{ watermark }}
union all
select rows.*
from {{ relation }} as rows
inner join (
    select distinct portal_id, {{ hs_as_text('user_id') }} as user_id
    from {{ ref('int_user_emails') }}
    where loaded_at > {{ watermark }}
) as renamed
    on renamed.portal_id = rows.portal_id
    and renamed.user_id = rows.{{ user_column }}
where {{ condition }}
    and rows.loaded_at <= {{ watermark }}
{%- endif %}
{%- endmacro %}
