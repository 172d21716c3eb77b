-- OCSF Web Resources Activity (6001): the centralized audit log (objects created,
-- read, updated, deleted, imported, exported, shared: seed ocsf_web_resource_actions),
-- the CMS content audit log when the tap extracts it, and the security history's
-- exports, imports and content changes. web_resources[0] is the object acted on;
-- HubSpot's category, subCategory and action are kept in unmapped. An action the seed
-- does not know is activity 99 (Other), the action as activity_name, is_unmapped true.
with actions as (
    select source, upper(action) as action, activity_id, severity_id
    from {{ ref('ocsf_web_resource_actions') }}
),

audits as (
    select
        audits.portal_id,
        audits.id as event_uid,
        audits.occurred_at,
        audits.loaded_at,
        coalesce(actions.activity_id, 99) as activity_id,
        case when coalesce(actions.activity_id, 99) = 99 then coalesce(audits.action, 'UNKNOWN') end as activity_name,
        coalesce(actions.severity_id, 1) as severity_id,
        cast(null as {{ dbt.type_bigint() }}) as status_id,
        {{ dbt.concat([
            "'HubSpot audit log '",
            "coalesce(audits.category, 'UNKNOWN')", "' '",
            "coalesce(audits.action, 'UNKNOWN')",
        ]) }} as message,
        'audit' as hubspot_source,
        {{ dbt.concat([
            "'audit.'", "lower(coalesce(audits.category, 'unknown'))", "'.'",
            "lower(coalesce(audits.action, 'unknown'))",
        ]) }} as hubspot_action,
        actions.action is null as is_unmapped,
        {{ hs_as_text('audits.acting_user_id') }} as actor_user_uid,
        audits.acting_user_email as actor_user_email,
        cast(null as {{ dbt.type_string() }}) as user_uid,
        cast(null as {{ dbt.type_string() }}) as user_email,
        cast(null as {{ dbt.type_string() }}) as src_ip,
        case
            when audits.acting_user_id is not null or audits.acting_user_email is not null then
                {{ ocsf_object([['user', ocsf_user('audits.acting_user_id', 'audits.acting_user_email')]]) }}
        end as actor_json,
        cast(null as {{ hs_type_json() }}) as src_endpoint_json,
        {{ ocsf_object([
            ['uid', 'audits.target_object_id'],
            ['type', "coalesce(audits.sub_category, audits.category, 'UNKNOWN')"],
            ['name', "case when audits.target_object_id is null then coalesce(audits.sub_category, audits.category, 'UNKNOWN') end"],
        ]) }} as web_resource_json,
        {{ ocsf_object([
            ['category', 'audits.category'],
            ['subCategory', 'audits.sub_category'],
            ['action', 'audits.action'],
        ]) }} as unmapped
    from {{ ref('stg_audit_logs') }} as audits
    left join actions
        on actions.source = 'audit'
        and actions.action = upper(audits.action)
),

cms as (
    select
        cms.portal_id,
        cms.id as event_uid,
        cms.occurred_at,
        cms.loaded_at,
        coalesce(actions.activity_id, 99) as activity_id,
        case when coalesce(actions.activity_id, 99) = 99 then coalesce(cms.event, 'UNKNOWN') end as activity_name,
        coalesce(actions.severity_id, 1) as severity_id,
        cast(null as {{ dbt.type_bigint() }}) as status_id,
        {{ dbt.concat([
            "'HubSpot CMS '", "coalesce(cms.object_type, 'UNKNOWN')", "' '",
            "coalesce(cms.event, 'UNKNOWN')",
        ]) }} as message,
        'cms' as hubspot_source,
        {{ dbt.concat([
            "'cms.'", "lower(coalesce(cms.object_type, 'unknown'))", "'.'",
            "lower(coalesce(cms.event, 'unknown'))",
        ]) }} as hubspot_action,
        actions.action is null as is_unmapped,
        cms.user_id_text as actor_user_uid,
        cast(null as {{ dbt.type_string() }}) as actor_user_email,
        cast(null as {{ dbt.type_string() }}) as user_uid,
        cast(null as {{ dbt.type_string() }}) as user_email,
        cast(null as {{ dbt.type_string() }}) as src_ip,
        case
            when cms.user_id_text is not null then
                {{ ocsf_object([['user', ocsf_object([
                    ['uid', 'cms.user_id_text'],
                    ['full_name', 'cms.full_name'],
                    ['type_id', '1'],
                    ['type', "'User'"],
                ])]]) }}
        end as actor_json,
        cast(null as {{ hs_type_json() }}) as src_endpoint_json,
        {{ ocsf_object([
            ['uid', 'cms.object_id'],
            ['type', "coalesce(cms.object_type, 'UNKNOWN')"],
            ['name', "coalesce(cms.object_name, cms.object_id, cms.object_type, 'UNKNOWN')"],
        ]) }} as web_resource_json,
        {{ ocsf_object([
            ['objectType', 'cms.object_type'],
            ['event', 'cms.event'],
            ['meta', 'cms.meta'],
        ]) }} as unmapped
    from {{ ref('stg_cms_content_audit') }} as cms
    left join actions
        on actions.source = 'cms'
        and actions.action = cms.event
),

security as (
    {{ ocsf_security_rows([6001]) }}
),

mapped as (
    select
        portal_id, event_uid, occurred_at, loaded_at, activity_id, activity_name,
        severity_id, status_id, message, hubspot_source, hubspot_action, is_unmapped,
        actor_user_uid, actor_user_email, user_uid, user_email, src_ip, actor_json,
        src_endpoint_json, web_resource_json, unmapped
    from audits
    union all
    select
        portal_id, event_uid, occurred_at, loaded_at, activity_id, activity_name,
        severity_id, status_id, message, hubspot_source, hubspot_action, is_unmapped,
        actor_user_uid, actor_user_email, user_uid, user_email, src_ip, actor_json,
        src_endpoint_json, web_resource_json, unmapped
    from cms
    union all
    select
        portal_id, event_uid, occurred_at, loaded_at, activity_id, activity_name,
        severity_id, status_id, message, hubspot_source, hubspot_action, is_unmapped,
        actor_user_uid, actor_user_email, user_uid, user_email, src_ip, actor_json, src_endpoint_json,
        {{ ocsf_object([
            ['uid', 'object_id'],
            ['type', 'entity_type'],
            ['name', 'entity_type'],
        ]) }} as web_resource_json,
        unmapped
    from security
),

{{ ocsf_select('mapped', 6001, [
    ['actor', 'actor_json'],
    ['src_endpoint', 'src_endpoint_json'],
    ['web_resources', ocsf_array(['web_resource_json'])],
], profiles=['host']) }}
