-- Every event the warehouse holds, by the tap's stream name: what manifests are checked
-- against.
{% set streams = {
    'login_activity': 'stg_login_activity',
    'audit_logs': 'stg_audit_logs',
    'security_activity': 'stg_security_activity',
    'cms_content_audit': 'stg_cms_content_audit',
} %}

{% for stream, model in streams.items() %}
select
    portal_id,
    '{{ stream }}' as stream,
    id as event_id,
    occurred_at,
    loaded_at
from {{ ref(model) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
