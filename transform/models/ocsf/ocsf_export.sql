-- What the export job (hubspot-activity-ocsf-export: tap-postgres to target-jsonl)
-- reads: one row per ocsf_events row, each top-level attribute of the OCSF event as a
-- JSON column (null where the event has none), plus what the job needs and drops
-- before writing: class_uid to split the classes into their own files, loaded_at for
-- the bookmark. meltano.yml's stream maps keep each class's own attributes.
{%- set members = ocsf_export_members() %}

select
    class_uid as export_class_uid,
    loaded_at as export_loaded_at,
    {%- for name in members %}
    {{ ocsf_member('event', name) }} as {{ ocsf_col(name) if name in ('user', 'group') else name }}{{ "," if not loop.last }}
    {%- endfor %}
from {{ ref('ocsf_events') }}
