{{ config(materialized='view') }}

-- Every event the warehouse holds, by the tap's stream name: what manifests are checked
-- against. It reads the loader's tables themselves, not staging: a row deleted there
-- (by hand, by a loader that dropped it) must fail the completeness test even after
-- staging, which only adds what is new, kept its copy.
{%- set streams = ['login_activity', 'audit_logs', 'security_activity', 'cms_content_audit'] %}

{% for stream in streams %}
select
    cast({{ hs_col('portalId') }} as {{ dbt.type_bigint() }}) as portal_id,
    '{{ stream }}' as stream,
    {{ hs_as_text(hs_col('id')) }} as event_id,
    {{ hs_utc(hs_col('occurredAt')) }} as occurred_at,
    {{ hs_utc(hs_col('_sdc_batched_at')) }} as loaded_at
from ({{ hubspot_source(stream) }}) as loaded
{% if not loop.last %}union all{% endif %}
{% endfor %}
