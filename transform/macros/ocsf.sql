{#-
  Helpers of the OCSF models (models/ocsf/): JSON built in the warehouse, the same on
  PostgreSQL (jsonb) and Snowflake (VARIANT/OBJECT), and the common attributes every
  OCSF event carries.

  OCSF (https://schema.ocsf.io/1.8.0) has no null values: an attribute the source
  does not know is left out. PostgreSQL: jsonb_strip_nulls on the whole event;
  Snowflake: object_construct leaves out keys whose value is NULL. An object whose
  members are all unknown would be {} (which OCSF's "at least one of" constraints
  reject), so the models build an object only when one of its members is known.
-#}

{#- The OCSF version the models produce. -#}
{% macro ocsf_version() -%}1.8.0{%- endmacro %}


{#- A JSON object from [key, SQL expression] pairs. -#}
{% macro ocsf_object(pairs) -%}
  {{ return(adapter.dispatch('ocsf_object', 'hubspot_activity')(pairs)) }}
{%- endmacro %}

{% macro default__ocsf_object(pairs) -%}
  jsonb_build_object(
    {%- for key, value in pairs %}
    '{{ key }}', {{ value }}{{ "," if not loop.last }}
    {%- endfor %}
  )
{%- endmacro %}

{% macro snowflake__ocsf_object(pairs) -%}
  object_construct(
    {%- for key, value in pairs %}
    '{{ key }}', {{ value }}{{ "," if not loop.last }}
    {%- endfor %}
  )
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


{#- The UTC calendar day of a timestamp with time zone (the export's day partition). -#}
{% macro ocsf_utc_day(expression) -%}
  {{ return(adapter.dispatch('ocsf_utc_day', 'hubspot_activity')(expression)) }}
{%- endmacro %}

{% macro default__ocsf_utc_day(expression) -%}
  cast(({{ expression }} at time zone 'UTC') as date)
{%- endmacro %}

{% macro snowflake__ocsf_utc_day(expression) -%}
  cast(convert_timezone('UTC', {{ expression }}) as date)
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


{#- A user object from an id and an e-mail address: null when both are, unless the
    class requires a user (Authentication, Account Change, User Access Management): then
    OCSF's Unknown user type, named Unknown. -#}
{% macro ocsf_user(uid, email, required=false) -%}
  case
    when {{ uid }} is not null or {{ email }} is not null then
      {{ ocsf_object([
          ['uid', hs_as_text(uid)],
          ['email_addr', email],
          ['type_id', '1'],
          ['type', "'User'"],
      ]) }}
    {%- if required %}
    else {{ ocsf_object([['name', "'Unknown'"], ['type_id', '0'], ['type', "'Unknown'"]]) }}
    {%- endif %}
  end
{%- endmacro %}


{#- The columns every OCSF model has, in this order, and its event JSON.
    `mapped` must have: portal_id, event_uid, occurred_at, loaded_at, activity_id,
    activity_name (null: the caption of activity_id; set for Other), severity_id, status_id (or null), message,
    hubspot_source, hubspot_action, is_unmapped, actor_user_uid, actor_user_email,
    user_uid, user_email, src_ip, unmapped (JSON or null); `extra` lists the
    class's own [key, SQL expression] members of the event, `profiles` the OCSF
    profiles they use (metadata.profiles; e.g. host, which brings actor to the
    Application Activity and Findings classes). It continues the model's
    `with` list: `with mapped as (...), {{ ocsf_select('mapped', 3002, [...]) }}`. -#}
{% macro ocsf_select(mapped, class_uid, extra, profiles=[]) %}
{%- set classes = {
    2004: ['Detection Finding', 2, 'Findings'],
    3001: ['Account Change', 3, 'Identity & Access Management'],
    3002: ['Authentication', 3, 'Identity & Access Management'],
    3004: ['Entity Management', 3, 'Identity & Access Management'],
    3005: ['User Access Management', 3, 'Identity & Access Management'],
    3006: ['Group Management', 3, 'Identity & Access Management'],
    6001: ['Web Resources Activity', 6, 'Application Activity'],
} -%}
{%- set class_name, category_uid, category_name = classes[class_uid] -%}
-- status_id 0 (Unknown) where the source does not say: OCSF's base event defines it
-- for every class, and a reader filtering on it must not lose rows to a null.
statused as (
    select
        {{ mapped }}.*,
        coalesce({{ mapped }}.status_id, 0) as known_status_id
    from {{ mapped }}
),

named as (
    select
        statused.*,
        activity_captions.caption as activity_caption,
        severity_captions.caption as severity,
        status_captions.caption as status
    from statused
    left join {{ ref('ocsf_enum_captions') }} as activity_captions
        on activity_captions.class_uid = {{ class_uid }}
        and activity_captions.attribute = 'activity_id'
        and activity_captions.enum_value = statused.activity_id
    left join {{ ref('ocsf_enum_captions') }} as severity_captions
        on severity_captions.class_uid = {{ class_uid }}
        and severity_captions.attribute = 'severity_id'
        and severity_captions.enum_value = statused.severity_id
    left join {{ ref('ocsf_enum_captions') }} as status_captions
        on status_captions.class_uid = {{ class_uid }}
        and status_captions.attribute = 'status_id'
        and status_captions.enum_value = statused.known_status_id
),

common as (
    select
        named.*,
        {{ ocsf_epoch_ms('occurred_at') }} as time_ms,
        {{ class_uid }} * 100 + activity_id as type_uid,
        coalesce(activity_name, activity_caption) as ocsf_activity_name,
        {{ dbt.concat(["'" ~ class_name ~ ": '", 'activity_caption']) }} as type_name,
        {{ hs_as_text('portal_id') }} as tenant_uid,
        {{ ocsf_iso_utc('occurred_at') }} as original_time
    from named
)

select
    cast(event_uid as {{ dbt.type_string() }}) as metadata_uid,
    cast(tenant_uid as {{ dbt.type_string() }}) as metadata_tenant_uid,
    portal_id,
    cast('{{ ocsf_version() }}' as {{ dbt.type_string() }}) as metadata_version,
    cast('HubSpot' as {{ dbt.type_string() }}) as metadata_product_name,
    cast(original_time as {{ dbt.type_string() }}) as metadata_original_time,
    time_ms as time,
    occurred_at as time_dt,
    {{ ocsf_utc_day('occurred_at') }} as event_day,
    {{ category_uid }} as category_uid,
    cast('{{ category_name }}' as {{ dbt.type_string() }}) as category_name,
    {{ class_uid }} as class_uid,
    cast('{{ class_name }}' as {{ dbt.type_string() }}) as class_name,
    activity_id,
    cast(ocsf_activity_name as {{ dbt.type_string() }}) as activity_name,
    type_uid,
    cast(type_name as {{ dbt.type_string() }}) as type_name,
    severity_id,
    cast(severity as {{ dbt.type_string() }}) as severity,
    known_status_id as status_id,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(actor_user_uid as {{ dbt.type_string() }}) as actor_user_uid,
    cast(actor_user_email as {{ dbt.type_string() }}) as actor_user_email,
    cast(user_uid as {{ dbt.type_string() }}) as user_uid,
    cast(user_email as {{ dbt.type_string() }}) as user_email,
    cast(src_ip as {{ dbt.type_string() }}) as src_endpoint_ip,
    cast(hubspot_source as {{ dbt.type_string() }}) as hubspot_source,
    cast(hubspot_action as {{ dbt.type_string() }}) as hubspot_action,
    is_unmapped,
    loaded_at,
    {{ ocsf_event([
        ['activity_id', 'activity_id'],
        ['activity_name', 'ocsf_activity_name'],
        ['category_uid', category_uid | string],
        ['category_name', "'" ~ category_name ~ "'"],
        ['class_uid', class_uid | string],
        ['class_name', "'" ~ class_name ~ "'"],
        ['type_uid', 'type_uid'],
        ['type_name', 'type_name'],
        ['severity_id', 'severity_id'],
        ['severity', 'severity'],
        ['status_id', 'known_status_id'],
        ['status', 'status'],
        ['time', 'time_ms'],
        ['message', 'message'],
        ['metadata', ocsf_object([
            ['version', "'" ~ ocsf_version() ~ "'"],
            ['product', ocsf_object([['name', "'HubSpot'"], ['vendor_name', "'HubSpot'"]])],
            ['uid', 'event_uid'],
            ['tenant_uid', 'tenant_uid'],
            ['original_time', 'original_time'],
            ['logged_time', ocsf_epoch_ms('loaded_at')],
            ['log_name', 'hubspot_source'],
        ] + ([['profiles', ocsf_array(["'" ~ (profiles | join("', '")) ~ "'"])]] if profiles else []))],
    ] + extra + [
        ['unmapped', 'unmapped'],
    ]) }} as event
from common
{% endmacro %}


{#- src_endpoint: the IP address and where HubSpot placed it (null without an IP). -#}
{% macro ocsf_src_endpoint(ip, country, region, location) -%}
  case
    when {{ ip }} is not null then
      {{ ocsf_object([
          ['ip', ip],
          ['location', ocsf_location(country, region, location)],
      ]) }}
  end
{%- endmacro %}


{#- location: country and region codes upper case, HubSpot's text as desc (null when
    neither code is known: OCSF needs a country, region, city or postal code). -#}
{% macro ocsf_location(country, region, location) -%}
  case
    when {{ country }} is not null or {{ region }} is not null then
      {{ ocsf_object([
          ['country', 'upper(' ~ country ~ ')'],
          ['region', 'upper(' ~ region ~ ')'],
          ['desc', location],
      ]) }}
  end
{%- endmacro %}


{#- The columns of int_ocsf_security_activity rows of one OCSF class in the shape
    ocsf_select reads, with their actor, user, src_endpoint and unmapped as JSON. -#}
{% macro ocsf_security_rows(class_uids) -%}
    select
        portal_id,
        id as event_uid,
        occurred_at,
        loaded_at,
        activity_id,
        case when activity_id = 99 then activity_type end as activity_name,
        severity_id,
        status_id,
        {{ dbt.concat(["'HubSpot security activity '", 'activity_type']) }} as message,
        'security' as hubspot_source,
        {{ dbt.concat(["'security.'", 'lower(activity_type)']) }} as hubspot_action,
        is_unmapped,
        {{ hs_as_text('user_id') }} as actor_user_uid,
        acting_user_email as actor_user_email,
        affected_user_uid as user_uid,
        affected_user_email as user_email,
        ip_address as src_ip,
        case
            when user_id is not null or acting_user_email is not null then
                {{ ocsf_object([['user', ocsf_user('user_id', 'acting_user_email')]]) }}
        end as actor_json,
        {{ ocsf_user('affected_user_uid', 'affected_user_email', required=true) }} as user_json,
        {{ ocsf_src_endpoint('ip_address', 'country_code', 'region_code', 'location') }} as src_endpoint_json,
        {{ ocsf_object([
            ['type', 'activity_type'],
            ['objectId', 'object_id'],
            ['infoUrl', 'info_url'],
            ['location', 'case when ip_address is null then location end'],
            ['countryCode', 'case when ip_address is null then country_code end'],
            ['regionCode', 'case when ip_address is null then region_code end'],
        ]) }} as unmapped,
        entity_type,
        privilege,
        object_id
    from {{ ref('int_ocsf_security_activity') }}
    where class_uid in ({{ class_uids | join(', ') }})
{%- endmacro %}


{#- Every top-level attribute an event of the project can have (ocsf_export's columns;
    meltano.yml's stream maps list each class's own). -#}
{% macro ocsf_export_members() -%}
  {{ return(['activity_id', 'activity_name', 'category_uid', 'category_name', 'class_uid',
             'class_name', 'type_uid', 'type_name', 'severity_id', 'severity', 'status_id',
             'status', 'time', 'message', 'metadata', 'actor', 'user', 'src_endpoint',
             'http_request', 'service', 'entity', 'privileges', 'group', 'web_resources',
             'finding_info', 'resources', 'unmapped']) }}
{%- endmacro %}
