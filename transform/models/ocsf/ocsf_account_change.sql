-- OCSF Account Change (3001): HubSpot security history of user accounts (added,
-- removed, deactivated, reactivated, password, 2FA, passkeys). actor.user is who
-- acted, user the account changed.
with mapped as (
    {{ ocsf_security_rows([3001]) }}
),

{{ ocsf_select('mapped', 3001, [
    ['actor', 'actor_json'],
    ['user', 'user_json'],
    ['src_endpoint', 'src_endpoint_json'],
]) }}
