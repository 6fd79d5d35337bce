{#- Every identifier in every staged record, with the record's lineage: the evidence the identity graph is built from.
    A record is one staged row; identifiers in the same record are linked. -#}
{%- set user_id_type = var('identity_user_id_type') -%}
{%- set specs = [
    ('email', 'stg_email__events', 'event_at', 'false',
        [('email', 'email'), (user_id_type, 'customer_id')]),
    ('sms', 'stg_sms__messages', 'event_at', 'false',
        [('phone', 'customer_phone')]),
    ('push', 'stg_push__events', 'event_at', 'false',
        [('push_player', 'player_id'), (user_id_type, 'external_user_id')]),
    ('web', 'stg_web__events', 'event_at', 'is_bot_user_agent',
        [('cookie', 'anonymous_id'), (user_id_type, 'user_id'), ('email', 'email'), ('phone', 'phone'),
         ('click_id', 'coalesce(gclid, fbclid)')]),
    ('app', 'stg_app__events', 'event_at', 'is_bot_user_agent',
        [('cookie', 'anonymous_id'), ('device', 'device_id'), (user_id_type, 'user_id'), ('email', 'email'),
         ('phone', 'phone'), ('click_id', 'coalesce(gclid, fbclid)')]),
    ('ads', 'stg_ads__clicks', 'event_at', 'false',
        [('click_id', 'click_id')]),
    ('social', 'stg_social__engagements', 'event_at', 'false',
        [('social_handle', 'handle'), ('email', 'lead_email'), ('phone', 'lead_phone')]),
    ('orders', 'stg_orders__order_versions', 'event_at', 'false',
        [('email', 'email'), ('phone', 'phone'), ('shop_customer_id', 'shop_customer_id'),
         ('click_id', 'coalesce(gclid, fbclid)')]),
    ('pos', 'stg_pos__transactions', 'event_at', 'false',
        [('loyalty_id', 'loyalty_id'), ('email', 'email'), ('phone', 'phone')]),
    ('support', 'stg_support__tickets', 'event_at', 'false',
        [('email', 'email'), ('phone', 'phone')]),
    ('crm', 'stg_crm__customer_rows', 'cast(delivery_date as timestamp)', 'false',
        [('crm_id', 'customer_id'), ('email', 'email'), ('phone', 'phone'), ('loyalty_id', 'loyalty_id'),
         ('social_handle', 'instagram_handle')]),
    ('crm_consent', 'stg_crm__consents', 'event_at', 'false',
        [('crm_id', 'customer_id'), ('email', 'email'), ('phone', 'phone')]),
] -%}

with
{% for source, model, time_expr, bot_expr, columns in specs %}
{{ source }}_records as (
    select
        '{{ source }}:' || event_id as record_id,
        '{{ source }}' as source,
        source_file,
        source_line,
        delivery_date,
        {{ time_expr }} as occurred_at,
        coalesce({{ bot_expr }}, false) as is_bot,
        {% for identifier_type, expr in columns -%}
        nullif(trim(cast({{ expr }} as {{ dbt.type_string() }})), '') as id_{{ loop.index }}{{ "," if not loop.last }}
        {% endfor %}
    from {{ ref(model) }}
),

{% endfor %}
occurrences as (
{% for source, model, time_expr, bot_expr, columns in specs %}
{%- set outer = loop -%}
{%- for identifier_type, expr in columns %}
    select record_id, source, source_file, source_line, delivery_date, occurred_at, is_bot,
           '{{ identifier_type }}' as identifier_type, id_{{ loop.index }} as identifier_value
    from {{ source }}_records
    where id_{{ loop.index }} is not null
    {{ "union all" if not (loop.last and outer.last) }}
{%- endfor %}
{% endfor %}
)

select * from occurrences
