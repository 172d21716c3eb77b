-- OCSF Group Management (3006): HubSpot teams created, deleted, and users added to or
-- removed from a team (security history). group.uid is HubSpot's objectId.
with mapped as (
    {{ ocsf_security_rows([3006]) }}
),

{{ ocsf_select('mapped', 3006, [
    ['actor', 'actor_json'],
    ['group', ocsf_object([['name', 'entity_type'], ['uid', 'object_id'], ['type', "'Team'"]])],
    ['src_endpoint', 'src_endpoint_json'],
]) }}
