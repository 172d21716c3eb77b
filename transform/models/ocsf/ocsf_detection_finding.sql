-- OCSF Detection Finding (2004): what the detections found, one finding per
-- failed_login_bursts, new_country_logins and privileged_changes row (activity 1
-- Create, status 1 New). finding_info.uid is the detection's name and the row's key;
-- finding_info.analytic names the dbt model; related_events points at the HubSpot
-- events (for a burst: its first failed login, all of them in unmapped.event_ids);
-- resources[0] is the user concerned. loaded_at is the detection's: the newest load of
-- the events behind the finding, so the export sends a finding again when it changes.

with bursts as (
    select
        bursts.portal_id,
        {{ dbt.concat(["'failed_login_bursts:'", 'bursts.burst_id']) }} as event_uid,
        bursts.last_failed_at as occurred_at,
        bursts.loaded_at,
        1 as activity_id,
        cast(null as {{ dbt.type_string() }}) as activity_name,
        case when bursts.succeeded_at is not null then 5 else 4 end as severity_id,
        1 as status_id,
        {{ dbt.concat([
            hs_as_text('bursts.failed_logins'), "' failed HubSpot logins of user '",
            hs_as_text('bursts.user_id'), "' within '",
            hs_as_text('bursts.duration_seconds'), "' seconds'",
        ]) }} as message,
        'detection' as hubspot_source,
        'detection.failed_login_bursts' as hubspot_action,
        false as is_unmapped,
        cast(null as {{ dbt.type_string() }}) as actor_user_uid,
        cast(null as {{ dbt.type_string() }}) as actor_user_email,
        {{ hs_as_text('bursts.user_id') }} as user_uid,
        bursts.email as user_email,
        cast(null as {{ dbt.type_string() }}) as src_ip,
        'failed_login_bursts' as analytic_name,
        'Failed login burst' as title,
        'Brute force' as finding_type,
        bursts.burst_id as finding_uid,
        bursts.first_failed_at as first_seen_at,
        bursts.last_failed_at as last_seen_at,
        bursts.first_event_id as related_event_uid,
        300201 as related_type_uid,
        bursts.failed_logins as related_events_count,
        cast(null as {{ hs_type_json() }}) as actor_json,
        {{ ocsf_object([
            ['ipAddresses', 'bursts.ip_addresses'],
            ['countryCodes', 'bursts.country_codes'],
            ['userAgents', 'bursts.user_agents'],
            ['eventIds', 'bursts.event_ids'],
            ['maxFailedInWindow', 'bursts.max_failed_in_window'],
            ['threshold', 'bursts.threshold'],
            ['windowMinutes', 'bursts.window_minutes'],
            ['succeededAt', ocsf_iso_utc('bursts.succeeded_at')],
            ['succeededFromIpAddress', 'bursts.succeeded_from_ip_address'],
        ]) }} as unmapped
    from {{ ref('failed_login_bursts') }} as bursts
),

new_countries as (
    select
        logins.portal_id,
        {{ dbt.concat(["'new_country_logins:'", 'logins.event_id']) }} as event_uid,
        logins.occurred_at,
        logins.loaded_at,
        1 as activity_id,
        cast(null as {{ dbt.type_string() }}) as activity_name,
        3 as severity_id,
        1 as status_id,
        {{ dbt.concat([
            "'First HubSpot login of user '", hs_as_text('logins.user_id'),
            "' from country '", 'upper(logins.country_code)',
        ]) }} as message,
        'detection' as hubspot_source,
        'detection.new_country_logins' as hubspot_action,
        false as is_unmapped,
        cast(null as {{ dbt.type_string() }}) as actor_user_uid,
        cast(null as {{ dbt.type_string() }}) as actor_user_email,
        {{ hs_as_text('logins.user_id') }} as user_uid,
        logins.email as user_email,
        logins.ip_address as src_ip,
        'new_country_logins' as analytic_name,
        'Login from a new country' as title,
        'Unusual location' as finding_type,
        logins.event_id as finding_uid,
        logins.occurred_at as first_seen_at,
        logins.occurred_at as last_seen_at,
        logins.event_id as related_event_uid,
        300201 as related_type_uid,
        1 as related_events_count,
        cast(null as {{ hs_type_json() }}) as actor_json,
        {{ ocsf_object([
            ['countryCode', 'logins.country_code'],
            ['ipAddress', 'logins.ip_address'],
            ['location', 'logins.location'],
            ['knownCountryCodes', 'logins.known_country_codes'],
            ['previousCountryCode', 'logins.previous_country_code'],
            ['previousLoginAt', ocsf_iso_utc('logins.previous_login_at')],
            ['minutesSincePreviousLogin', 'logins.minutes_since_previous_login'],
        ]) }} as unmapped
    from {{ ref('new_country_logins') }} as logins
),

privileged as (
    select
        changes.portal_id,
        {{ dbt.concat(["'privileged_changes:'", 'changes.source', "':'", 'changes.event_id']) }} as event_uid,
        changes.occurred_at,
        changes.loaded_at,
        1 as activity_id,
        cast(null as {{ dbt.type_string() }}) as activity_name,
        case when changes.affects_other_user then 4 else 3 end as severity_id,
        1 as status_id,
        {{ dbt.concat(["'Privileged HubSpot change: '", 'changes.change_type', "' ('", 'changes.action', "')'"]) }} as message,
        'detection' as hubspot_source,
        'detection.privileged_changes' as hubspot_action,
        false as is_unmapped,
        {{ hs_as_text('changes.actor_user_id') }} as actor_user_uid,
        changes.actor_email as actor_user_email,
        coalesce(changes.target_user_id, {{ hs_as_text('changes.actor_user_id') }}) as user_uid,
        case when changes.target_user_id is not null then changes.target_user_email else changes.actor_email end as user_email,
        changes.ip_address as src_ip,
        'privileged_changes' as analytic_name,
        {{ dbt.concat(["'Privileged change: '", 'changes.change_type']) }} as title,
        'Privileged change' as finding_type,
        {{ dbt.concat(['changes.source', "':'", 'changes.event_id']) }} as finding_uid,
        changes.occurred_at as first_seen_at,
        changes.occurred_at as last_seen_at,
        changes.event_id as related_event_uid,
        cast(null as {{ dbt.type_bigint() }}) as related_type_uid,
        1 as related_events_count,
        case
            when changes.actor_user_id is not null or changes.actor_email is not null then
                {{ ocsf_object([['user', ocsf_user('changes.actor_user_id', 'changes.actor_email')]]) }}
        end as actor_json,
        {{ ocsf_object([
            ['action', 'changes.action'],
            ['changeType', 'changes.change_type'],
            ['credentialKind', 'changes.credential_kind'],
            ['targetObjectId', 'changes.target_object_id'],
            ['affectsOtherUser', 'changes.affects_other_user'],
            ['ipAddress', 'changes.ip_address'],
            ['infoUrl', 'changes.info_url'],
        ]) }} as unmapped
    from {{ ref('privileged_changes') }} as changes
),

mapped as (
    select * from bursts
    union all
    select * from new_countries
    union all
    select * from privileged
),

{{ ocsf_select('mapped', 2004, [
    ['actor', 'actor_json'],
    ['finding_info', ocsf_object([
        ['uid', 'finding_uid'],
        ['title', 'title'],
        ['desc', 'message'],
        ['types', ocsf_array(['finding_type'])],
        ['analytic', ocsf_object([
            ['name', 'analytic_name'],
            ['type_id', '1'],
            ['type', "'Rule'"],
        ])],
        ['first_seen_time', ocsf_epoch_ms('first_seen_at')],
        ['last_seen_time', ocsf_epoch_ms('last_seen_at')],
        ['related_events', ocsf_array([ocsf_object([
            ['uid', 'related_event_uid'],
            ['type_uid', 'related_type_uid'],
        ])])],
        ['related_events_count', 'related_events_count'],
        ['product', ocsf_object([['name', "'tap-hubspot-activity dbt detections'"]])],
    ])],
    ['resources', "case when user_uid is not null or user_email is not null then " ~ ocsf_array([ocsf_object([
        ['type', "'User'"],
        ['uid', 'user_uid'],
        ['name', 'coalesce(user_email, user_uid)'],
    ])]) ~ " end"],
], profiles=['host']) }}
