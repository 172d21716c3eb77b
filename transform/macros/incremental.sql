{#-
  How the models build incrementally. Every model reads by load time (loaded_at, the
  loader's _sdc_batched_at carried through), never by event time: the tap's lookback
  and the verification job re-load old events, and those must reach every model.

  Only staging reads with a lookback. A load may commit rows while a build reads (a
  loader batch stamped before the build began and committed after it), so each staging
  model re-reads the rows loaded up to `incremental_lookback_minutes` before its newest
  (hs_new_copies) and keeps only the copies it does not hold yet: re-reading a whole
  backfill costs one anti-join, and writes nothing. A copy it did not hold whose
  loaded_at is not newer than what the models downstream have read (a late commit) is
  given a loaded_at just past that point (hs_staged_loaded_at), so every model below
  staging reads exactly what is newer than its cutoff, with no lookback:
  - hs_loaded_after_this: a model where every new input row gives an output row with
    its loaded_at (activity_events, manifest_events) reads what is newer than its own
    newest.
  - hs_watermark: a model that may give no row for new input (a detection that finds
    nothing, a per-user aggregate) keeps the newest load of its inputs, as it read them,
    in the table hubspot_activity_watermarks (one row per model, written by the post-hook
    hs_save_watermark; macros/watermarks.sql), and reads what was loaded after it.
  A full refresh ignores both and reads everything. Builds of one warehouse must not
  overlap (the scheduled jobs take a lock): the rule above holds build after build.
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


{#- `where` clause of a model reading staging: rows loaded after this model's newest
    loaded_at (all rows on a first build or a full refresh). `source_name`: only this
    model's rows of that source (activity_events keeps one cutoff per source). No
    lookback: staging gives a late commit a loaded_at past every cutoff below it. -#}
{% macro hs_loaded_after_this(source_name=none) -%}
  {%- if is_incremental() -%}
    {%- set newest -%}
      select cast({{ hs_naive_utc('max(loaded_at)') }} as {{ dbt.type_string() }})
      from {{ this }}
      {%- if source_name is not none %}
      where source = '{{ source_name }}'
      {%- endif %}
    {%- endset -%}
    where loaded_at is null or loaded_at > {{ hs_utc_literal(newest) }}
  {%- endif -%}
{%- endmacro %}


{#- `where` clause of a staging model over `cte` (the typed loaded rows): the copies
    loaded since this model's newest loaded_at minus the lookback that it does not hold
    already (the same event with this load time or a later one; `key`: its id column
    here). All rows on a first build or a full refresh. -#}
{% macro hs_new_copies(cte, key='id') -%}
  {%- if is_incremental() -%}
    {%- set newest -%}
      select cast({{ dbt.dateadd('minute', -1 * hs_lookback_minutes(), hs_naive_utc('max(loaded_at)')) }} as {{ dbt.type_string() }})
      from {{ this }}
    {%- endset -%}
    where ({{ cte }}.loaded_at is null or {{ cte }}.loaded_at > {{ hs_utc_literal(newest) }})
      and not exists (
          select 1
          from {{ this }} as held
          where held.portal_id = {{ cte }}.portal_id
            and held.{{ key }} = {{ cte }}.id
            and held.loaded_at >= {{ cte }}.loaded_at
      )
  {%- endif -%}
{%- endmacro %}


{#- A staging row's loaded_at: the loader's, unless the copy was committed late, at or
    before the newest load staging held when this build began (the models downstream
    may have read up to there): then just past it, so that they read it. -#}
{% macro hs_staged_loaded_at() -%}
  {%- if is_incremental() -%}
    {%- set staged -%}
      select cast(max(loaded_through) as {{ dbt.type_string() }})
      from {{ hs_watermarks_relation() }}
      where model_name = '{{ hs_staged_through_name() }}'
    {%- endset -%}
    {%- set value = run_query(staged).columns[0].values()[0] if execute else none -%}
    {%- if value is none -%}
      loaded_at
    {%- else -%}
      {%- set through = "cast('" ~ value ~ "' as " ~ dbt.type_timestamp() ~ ")" -%}
      case
          when loaded_at <= {{ hs_utc(through) }}
              then {{ hs_utc(dbt.dateadd('millisecond', 1, through)) }}
          else loaded_at
      end
    {%- endif -%}
  {%- else -%}
    loaded_at
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


{#- Data tests on the large incremental tables read only the rows the model's last build
    could have written (`where: "loaded_at is null or loaded_at > __built_last__"` in
    dbt_project.yml; a null is always read, so a not_null test still sees it): rows
    loaded after the previous watermark; every row after a first
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
