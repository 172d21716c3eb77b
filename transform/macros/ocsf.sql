{#-
  Helpers of the OCSF models (models/ocsf/): the common attributes every OCSF event
  carries, and the objects several classes share. The JSON is built with the shims of
  cross_database.sql (ocsf_object, ocsf_array, ocsf_event: jsonb on PostgreSQL,
  VARIANT/OBJECT on Snowflake); the classes are the seed ocsf_classes.

  OCSF (https://schema.ocsf.io/1.8.0) has no null values: an attribute the source
  does not know is left out. PostgreSQL: jsonb_strip_nulls on the whole event;
  Snowflake: object_construct leaves out keys whose value is NULL. An object whose
  members are all unknown would be {} (which OCSF's "at least one of" constraints
  reject), so the models build an object only when one of its members is known.
-#}

{#- The OCSF version the models produce. -#}
{% macro ocsf_version() -%}1.8.0{%- endmacro %}


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
    `with` list: `with mapped as (...), {{ ocsf_select('mapped', 3002, [...]) }}`.
    The class's name and category come from the seed ocsf_classes. -#}
{% macro ocsf_select(mapped, class_uid, extra, profiles=[]) %}
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
        ocsf_classes.class_name as ocsf_class_name,
        ocsf_classes.category_uid as ocsf_category_uid,
        ocsf_classes.category_name as ocsf_category_name,
        activity_captions.caption as activity_caption,
        severity_captions.caption as severity,
        status_captions.caption as status
    from statused
    inner join {{ ref('ocsf_classes') }} as ocsf_classes
        on ocsf_classes.class_uid = {{ class_uid }}
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
        {{ dbt.concat(['ocsf_class_name', "': '", 'activity_caption']) }} as type_name,
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
    {{ hs_utc_date('occurred_at') }} as event_day,
    ocsf_category_uid as category_uid,
    cast(ocsf_category_name as {{ dbt.type_string() }}) as category_name,
    {{ class_uid }} as class_uid,
    cast(ocsf_class_name as {{ dbt.type_string() }}) as class_name,
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
        ['category_uid', 'ocsf_category_uid'],
        ['category_name', 'ocsf_category_name'],
        ['class_uid', class_uid | string],
        ['class_name', 'ocsf_class_name'],
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
