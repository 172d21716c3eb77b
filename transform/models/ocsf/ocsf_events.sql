{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['metadata_tenant_uid', 'class_uid', 'hubspot_source', 'metadata_uid'],
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['metadata_tenant_uid', 'class_uid', 'hubspot_source', 'metadata_uid'], 'unique': True},
            {'columns': ['loaded_at']},
        ],
        pre_hook=["{{ ocsf_events_forget_findings() }}"],
        post_hook=["{{ hs_save_watermark([ref('activity_events'), ref('int_ocsf_security_activity')]) }}"],
    )
}}

-- Every OCSF event of the project in one table, ready to ship to a SIEM or a security
-- data lake: the common attributes as columns and the whole OCSF 1.8.0 event as one
-- JSON column (`event`). One row per (metadata_tenant_uid, class_uid, hubspot_source,
-- metadata_uid): HubSpot ids are unique within a stream only (metadata.log_name).
-- Incremental: the event classes' rows loaded since the last build (the class views
-- read tables, so the load-time filter reaches their indexes); the findings (few, and
-- a burst can merge into another) are replaced whole, after the pre-hook removed them.
{%- set event_classes = [
    'ocsf_authentication',
    'ocsf_account_change',
    'ocsf_entity_management',
    'ocsf_user_access_management',
    'ocsf_group_management',
    'ocsf_web_resources_activity',
] %}

{% for model in event_classes %}
select * from {{ ref(model) }}
{%- if is_incremental() %}
where loaded_at > {{ hs_watermark() }}
{%- endif %}
union all
{% endfor %}
select * from {{ ref('ocsf_detection_finding') }}
