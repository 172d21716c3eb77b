{#-
  Cross-database helpers: every adapter.dispatch shim of the project is here. Everything
  else uses dbt's own cross-database macros (dbt.concat, dbt.dateadd, dbt.datediff,
  dbt.listagg, dbt.hash, dbt.type_*); these cover what differs between the loaders'
  tables and between PostgreSQL and Snowflake, and the JSON the OCSF models build
  (jsonb on PostgreSQL, VARIANT/OBJECT on Snowflake).
-#}

{#- A column of a table written by the loader. target-postgres keeps the stream's
    camelCase names, quoted ("portalId"); target-snowflake lower-cases them without
    quotes, so Snowflake stores PORTALID and an unquoted name finds it. -#}
{% macro hs_col(name) -%}
  {{ return(adapter.dispatch('hs_col', 'hubspot_activity')(name)) }}
{%- endmacro %}

{% macro default__hs_col(name) -%}
  {{ return(adapter.quote(name)) }}
{%- endmacro %}

{% macro snowflake__hs_col(name) -%}
  {{ return(name | lower) }}
{%- endmacro %}


{#- The timestamp-with-time-zone type. -#}
{% macro hs_type_timestamptz() -%}
  {{ return(adapter.dispatch('hs_type_timestamptz', 'hubspot_activity')()) }}
{%- endmacro %}

{% macro default__hs_type_timestamptz() -%}timestamp with time zone{%- endmacro %}

{% macro snowflake__hs_type_timestamptz() -%}timestamp_tz{%- endmacro %}


{#- The JSON type of an object column (audit_logs.actingUser, cms_content_audit.meta). -#}
{% macro hs_type_json() -%}
  {{ return(adapter.dispatch('hs_type_json', 'hubspot_activity')()) }}
{%- endmacro %}

{% macro default__hs_type_json() -%}jsonb{%- endmacro %}

{% macro snowflake__hs_type_json() -%}variant{%- endmacro %}


{#- A loaded timestamp (naive, in UTC, as both loaders write them) as a timestamp with
    time zone, so no session time zone can shift it. -#}
{% macro hs_utc(expression) -%}
  {{ return(adapter.dispatch('hs_utc', 'hubspot_activity')(expression)) }}
{%- endmacro %}

{% macro default__hs_utc(expression) -%}
  (cast({{ expression }} as {{ dbt.type_timestamp() }}) at time zone 'UTC')
{%- endmacro %}

{#- Snowflake: the whole seconds as a TIMESTAMP_TZ in UTC, then the fraction added with
    dateadd. Snowflake's documentation gives timestamp_tz_from_parts a nanosecond
    argument too, and both forms are exact there; the emulator the tests use (fakesnow)
    drops that argument, and with it the milliseconds, so the fraction is added apart. -#}
{% macro snowflake__hs_utc(expression) -%}
  dateadd(
    nanosecond,
    date_part(nanosecond, {{ expression }}),
    timestamp_tz_from_parts(
      year({{ expression }}), month({{ expression }}), day({{ expression }}),
      hour({{ expression }}), minute({{ expression }}), second({{ expression }}),
      0, 'UTC'
    )
  )
{%- endmacro %}


{#- The UTC calendar date of a timestamp with time zone. -#}
{% macro hs_utc_date(expression) -%}
  {{ return(adapter.dispatch('hs_utc_date', 'hubspot_activity')(expression)) }}
{%- endmacro %}

{% macro default__hs_utc_date(expression) -%}
  cast(({{ expression }} at time zone 'UTC') as date)
{%- endmacro %}

{% macro snowflake__hs_utc_date(expression) -%}
  cast(convert_timezone('UTC', {{ expression }}) as date)
{%- endmacro %}


{#- First day (a date) of the UTC calendar month of a timestamp with time zone. -#}
{% macro hs_utc_month(expression) -%}
  {{ return(adapter.dispatch('hs_utc_month', 'hubspot_activity')(expression)) }}
{%- endmacro %}

{% macro default__hs_utc_month(expression) -%}
  cast({{ dbt.date_trunc('month', '(' ~ expression ~ " at time zone 'UTC')") }} as date)
{%- endmacro %}

{#- Snowflake: the UTC date, truncated to its month. date_trunc('month', ...) of the
    converted timestamp itself is as right on Snowflake, but fakesnow (DuckDB) has no
    date_trunc or year() for its nanosecond TIMESTAMP_TZ; both take a DATE. -#}
{% macro snowflake__hs_utc_month(expression) -%}
  date_trunc('month', cast(convert_timezone('UTC', {{ expression }}) as date))
{%- endmacro %}


{#- A text field of a JSON object column (audit_logs.actingUser). -#}
{% macro hs_json_text(column, key) -%}
  {{ return(adapter.dispatch('hs_json_text', 'hubspot_activity')(column, key)) }}
{%- endmacro %}

{% macro default__hs_json_text(column, key) -%}
  ({{ column }} ->> '{{ key }}')
{%- endmacro %}

{#- Snowflake: the path form (column:"key"::varchar) gives the string without its JSON
    quotes, as Snowflake's documentation describes for a VARIANT cast to VARCHAR; fakesnow
    keeps the quotes with cast(get(...) as varchar), the path form is right on both. -#}
{% macro snowflake__hs_json_text(column, key) -%}
  {{ column }}:"{{ key }}"::{{ dbt.type_string() }}
{%- endmacro %}


{#- A text column with blanks made null. -#}
{% macro hs_text(expression) -%}
  nullif(trim(cast({{ expression }} as {{ dbt.type_string() }})), '')
{%- endmacro %}


{#- A string column as text, for comparing ids of different types. -#}
{% macro hs_as_text(expression) -%}
  cast({{ expression }} as {{ dbt.type_string() }})
{%- endmacro %}


{#- A text column as a bigint where it is all digits (at most 18, so it fits), else
    null: ids that are strings in the API (cms_content_audit.userId). -#}
{% macro hs_digits_as_bigint(expression) -%}
  {{ return(adapter.dispatch('hs_digits_as_bigint', 'hubspot_activity')(expression)) }}
{%- endmacro %}

{% macro default__hs_digits_as_bigint(expression) -%}
  case
    when {{ expression }} ~ '^[0-9]{1,18}$' then cast({{ expression }} as {{ dbt.type_bigint() }})
  end
{%- endmacro %}

{% macro snowflake__hs_digits_as_bigint(expression) -%}
  case
    when regexp_like({{ expression }}, '[0-9]{1,18}') then cast({{ expression }} as {{ dbt.type_bigint() }})
  end
{%- endmacro %}


{#- A JSON object from [key, SQL expression] pairs. -#}
{% macro ocsf_object(pairs) -%}
  {{ return(adapter.dispatch('ocsf_object', 'hubspot_activity')(pairs)) }}
{%- endmacro %}

{% macro default__ocsf_object(pairs) -%}
  jsonb_build_object({{ ocsf_object_members(pairs) }}
  )
{%- endmacro %}

{% macro snowflake__ocsf_object(pairs) -%}
  object_construct({{ ocsf_object_members(pairs) }}
  )
{%- endmacro %}

{#- The arguments of either constructor: 'key', value, ... -#}
{% macro ocsf_object_members(pairs) -%}
    {%- for key, value in pairs %}
    '{{ key }}', {{ value }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{#- A JSON array of SQL expressions (none of them null). -#}
{% macro ocsf_array(values) -%}
  {{ return(adapter.dispatch('ocsf_array', 'hubspot_activity')(values)) }}
{%- endmacro %}

{% macro default__ocsf_array(values) -%}
  jsonb_build_array({{ values | join(', ') }})
{%- endmacro %}

{% macro snowflake__ocsf_array(values) -%}
  array_construct({{ values | join(', ') }})
{%- endmacro %}


{#- The whole event: an object without null members, at any depth. -#}
{% macro ocsf_event(pairs) -%}
  {{ return(adapter.dispatch('ocsf_event', 'hubspot_activity')(pairs)) }}
{%- endmacro %}

{% macro default__ocsf_event(pairs) -%}
  jsonb_strip_nulls({{ default__ocsf_object(pairs) }})
{%- endmacro %}

{% macro snowflake__ocsf_event(pairs) -%}
  {{ snowflake__ocsf_object(pairs) }}
{%- endmacro %}


{#- A timestamp with time zone as epoch milliseconds (OCSF timestamp_t). -#}
{% macro ocsf_epoch_ms(expression) -%}
  {{ return(adapter.dispatch('ocsf_epoch_ms', 'hubspot_activity')(expression)) }}
{%- endmacro %}

{% macro default__ocsf_epoch_ms(expression) -%}
  cast(floor(extract(epoch from {{ expression }}) * 1000) as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- Snowflake: whole milliseconds of the epoch microseconds. date_part(epoch_millisecond)
    is the same on Snowflake (it truncates), but fakesnow rounds it to the nearest
    millisecond (a load time of ...384682 us gives ...385), so the microseconds are
    floored here, as on PostgreSQL. -#}
{% macro snowflake__ocsf_epoch_ms(expression) -%}
  cast(floor(date_part(epoch_microsecond, {{ expression }}) / 1000) as {{ dbt.type_bigint() }})
{%- endmacro %}


{#- A timestamp with time zone as RFC 3339 text in UTC with milliseconds, the way
    HubSpot writes its times (metadata.original_time). -#}
{% macro ocsf_iso_utc(expression) -%}
  {{ return(adapter.dispatch('ocsf_iso_utc', 'hubspot_activity')(expression)) }}
{%- endmacro %}

{% macro default__ocsf_iso_utc(expression) -%}
  to_char({{ expression }} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
{%- endmacro %}

{#- Snowflake's documented format elements (FF3: milliseconds; double-quoted text is
    printed as is, without the quotes). fakesnow prints the quotes too ('...313"Z"'), so
    there the text differs; Snowflake's documentation is followed here. -#}
{% macro snowflake__ocsf_iso_utc(expression) -%}
  to_varchar(convert_timezone('UTC', {{ expression }}), 'YYYY-MM-DD"T"HH24:MI:SS.FF3"Z"')
{%- endmacro %}


{#- A top-level member of the event JSON, as JSON (the export's columns). -#}
{% macro ocsf_member(column, key) -%}
  {{ return(adapter.dispatch('ocsf_member', 'hubspot_activity')(column, key)) }}
{%- endmacro %}

{% macro default__ocsf_member(column, key) -%}
  ({{ column }} -> '{{ key }}')
{%- endmacro %}

{% macro snowflake__ocsf_member(column, key) -%}
  {{ column }}:"{{ key }}"
{%- endmacro %}


{#- A quoted column name for an OCSF attribute that is an SQL keyword (user, group,
    time): "user" on PostgreSQL, "USER" on Snowflake (unquoted names are upper case). -#}
{% macro ocsf_col(name) -%}
  {{ return(adapter.dispatch('ocsf_col', 'hubspot_activity')(name)) }}
{%- endmacro %}

{% macro default__ocsf_col(name) -%}
  {{ adapter.quote(name) }}
{%- endmacro %}

{% macro snowflake__ocsf_col(name) -%}
  "{{ name | upper }}"
{%- endmacro %}
