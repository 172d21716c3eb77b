{#-
  HubSpot values the OCSF mapping seeds do not know: security types missing from
  ocsf_security_activity_map, audit actions and CMS events missing from
  ocsf_web_resource_actions. Their events are kept (activity 99, Other, the value as
  activity_name); this warning lists each value once with its number of events, so the
  seed can be extended. HubSpot added security types in March, May and August 2026.
  `dbt build --store-failures` keeps the list in <models schema>_dbt_test__audit.
-#}
{{ config(severity='warn') }}

select
    hubspot_source,
    hubspot_action,
    activity_name as hubspot_value,
    count(*) as events,
    min(time_dt) as first_seen_at,
    max(time_dt) as last_seen_at
from {{ ref('ocsf_events') }}
where is_unmapped
group by hubspot_source, hubspot_action, activity_name
