-- Every OCSF event of the project in one table, ready to ship to a SIEM or a security
-- data lake: the common attributes as columns and the whole OCSF 1.8.0 event as one
-- JSON column (`event`). One row per (metadata_tenant_uid, class_uid, hubspot_source,
-- metadata_uid): HubSpot ids are unique within a stream only (metadata.log_name).
{%- set classes = [
    'ocsf_authentication',
    'ocsf_account_change',
    'ocsf_entity_management',
    'ocsf_user_access_management',
    'ocsf_group_management',
    'ocsf_web_resources_activity',
    'ocsf_detection_finding',
] %}

{% for model in classes %}
select * from {{ ref(model) }}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
