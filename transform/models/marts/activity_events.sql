{{
    config(
        materialized='incremental',
        unique_key=['portal_id', 'source', 'event_id'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['portal_id', 'source', 'event_id'], 'unique': True},
            {'columns': ['source', 'loaded_at']},
            {'columns': ['portal_id', 'actor_user_id', 'occurred_at']},
            {'columns': ['occurred_at']},
            {'columns': ['portal_id', 'target_object_id']},
        ],
        post_hook=["{{ hs_save_watermark([this]) }}"],
    )
}}

-- The unified timeline of the streams (login, audit, security and, when the tap
-- extracts it, the CMS content audit log), one row per event, in the columns a SIEM
-- or an analyst reads. Incremental: each run adds what the loader wrote since.

with logins as (
    select
        portal_id,
        id as event_id,
        'login' as source,
        occurred_at,
        user_id as actor_user_id,
        email as actor_email,
        case
            when login_succeeded then 'auth.login_succeeded'
            when not login_succeeded then 'auth.login_failed'
            else 'auth.login_unknown'
        end as action,
        cast(null as {{ dbt.type_string() }}) as target_object_id,
        ip_address,
        country_code,
        region_code,
        location,
        user_agent,
        loaded_at
    from {{ ref('stg_login_activity') }}
    {{ hs_loaded_after_this(source_name='login') }}
),

audits as (
    select
        portal_id,
        id as event_id,
        'audit' as source,
        occurred_at,
        acting_user_id as actor_user_id,
        acting_user_email as actor_email,
        {{ dbt.concat([
            "'audit.'",
            "lower(coalesce(category, 'unknown'))",
            "'.'",
            "lower(coalesce(action, 'unknown'))",
        ]) }} as action,
        target_object_id,
        cast(null as {{ dbt.type_string() }}) as ip_address,
        cast(null as {{ dbt.type_string() }}) as country_code,
        cast(null as {{ dbt.type_string() }}) as region_code,
        cast(null as {{ dbt.type_string() }}) as location,
        cast(null as {{ dbt.type_string() }}) as user_agent,
        loaded_at
    from {{ ref('stg_audit_logs') }}
    {{ hs_loaded_after_this(source_name='audit') }}
),

security as (
    select
        portal_id,
        id as event_id,
        'security' as source,
        occurred_at,
        user_id as actor_user_id,
        acting_user_email as actor_email,
        {{ dbt.concat(["'security.'", "lower(coalesce(activity_type, 'unknown'))"]) }} as action,
        object_id as target_object_id,
        ip_address,
        country_code,
        region_code,
        location,
        cast(null as {{ dbt.type_string() }}) as user_agent,
        loaded_at
    from {{ ref('stg_security_activity') }}
    {{ hs_loaded_after_this(source_name='security') }}
),

-- Empty when the optional cms_content_audit stream is off (no table).
cms as (
    select
        portal_id,
        id as event_id,
        'cms' as source,
        occurred_at,
        user_id as actor_user_id,
        cast(null as {{ dbt.type_string() }}) as actor_email,
        {{ dbt.concat([
            "'cms.'",
            "lower(coalesce(object_type, 'unknown'))",
            "'.'",
            "lower(coalesce(event, 'unknown'))",
        ]) }} as action,
        object_id as target_object_id,
        cast(null as {{ dbt.type_string() }}) as ip_address,
        cast(null as {{ dbt.type_string() }}) as country_code,
        cast(null as {{ dbt.type_string() }}) as region_code,
        cast(null as {{ dbt.type_string() }}) as location,
        cast(null as {{ dbt.type_string() }}) as user_agent,
        loaded_at
    from {{ ref('stg_cms_content_audit') }}
    {{ hs_loaded_after_this(source_name='cms') }}
),

unioned as (
    select * from logins
    union all
    select * from audits
    union all
    select * from security
    union all
    select * from cms
)

select
    portal_id,
    cast(event_id as {{ dbt.type_string() }}) as event_id,
    cast(source as {{ dbt.type_string() }}) as source,
    occurred_at,
    actor_user_id,
    actor_email,
    cast(action as {{ dbt.type_string() }}) as action,
    target_object_id,
    ip_address,
    country_code,
    region_code,
    location,
    user_agent,
    loaded_at
from unioned
