-- OCSF User Access Management (3005): super admin permissions granted to or removed
-- from a user (HubSpot security history). privileges names what changed.
with mapped as (
    {{ ocsf_security_rows([3005]) }}
),

{{ ocsf_select('mapped', 3005, [
    ['actor', 'actor_json'],
    ['user', 'user_json'],
    ['privileges', ocsf_array(['privilege'])],
    ['src_endpoint', 'src_endpoint_json'],
]) }}
