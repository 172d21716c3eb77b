-- OCSF Entity Management (3004): credentials (private app tokens, service keys,
-- personal access keys, API keys, SMTP tokens, app secrets) created, viewed, rotated or
-- deactivated, and portal settings (SSO, IP restrictions, login methods and the other
-- security settings) changed: HubSpot security history. entity names what was managed
-- (its uid is HubSpot's objectId). A security type the seed does not know lands here
-- as activity 99 (Other), the type kept as activity_name and unmapped.type.
with mapped as (
    {{ ocsf_security_rows([3004]) }}
),

{{ ocsf_select('mapped', 3004, [
    ['actor', 'actor_json'],
    ['entity', ocsf_object([['name', 'entity_type'], ['uid', 'object_id'], ['type', 'entity_type']])],
    ['src_endpoint', 'src_endpoint_json'],
]) }}
