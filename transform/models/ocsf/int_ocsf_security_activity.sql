-- Security history with its OCSF class and activity (seed ocsf_security_activity_map).
-- A type missing from the seed (HubSpot adds types) is kept: Entity Management,
-- activity 99 (Other), with the type as activity_name and in unmapped, and
-- is_unmapped true (the warn test ocsf_unmapped_hubspot_values lists such values).

with security as (
    select * from {{ ref('stg_security_activity') }}
),

map as (
    select
        upper(activity_type) as activity_type,
        class_uid,
        activity_id,
        severity_id,
        target_is_user,
        entity_type,
        privilege,
        status_id
    from {{ ref('ocsf_security_activity_map') }}
),

-- The newest e-mail address of each user id, to name the user a change affected.
user_emails as (
    select portal_id, user_id, email
    from (
        select
            portal_id,
            user_id,
            email,
            row_number() over (
                partition by portal_id, user_id order by occurred_at desc, id desc
            ) as recency
        from {{ ref('stg_login_activity') }}
        where user_id is not null
          and email is not null
    ) as emails
    where recency = 1
)

select
    security.portal_id,
    security.id,
    security.occurred_at,
    security.loaded_at,
    security.activity_type,
    security.user_id,
    security.acting_user_email,
    security.object_id,
    security.info_url,
    security.ip_address,
    security.location,
    security.country_code,
    security.region_code,
    coalesce(map.class_uid, 3004) as class_uid,
    coalesce(map.activity_id, 99) as activity_id,
    coalesce(map.severity_id, 1) as severity_id,
    map.status_id,
    map.activity_type is null as is_unmapped,
    coalesce(map.entity_type, 'HubSpot security activity') as entity_type,
    map.privilege,
    -- Who the activity affected: the user in objectId for the types that act on a
    -- user, else the user who acted.
    case
        when map.target_is_user and security.object_id is not null then security.object_id
        else {{ hs_as_text('security.user_id') }}
    end as affected_user_uid,
    case
        when map.target_is_user and security.object_id is not null then target_users.email
        else security.acting_user_email
    end as affected_user_email
from security
left join map
    on map.activity_type = security.activity_type
left join user_emails as target_users
    on map.target_is_user
    and target_users.portal_id = security.portal_id
    and {{ hs_as_text('target_users.user_id') }} = security.object_id
