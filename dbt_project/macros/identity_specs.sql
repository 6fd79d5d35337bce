{#- The records identity resolution reads: (source, staging model, time expression, bot expression, identifier
    columns as (identifier_type, expression)). A record is one staged row; identifiers in the same record are linked. -#}
{% macro identity_record_specs() %}
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
    {{ return(specs) }}
{% endmacro %}

{#- The sources that hold identifiers of the given types (a record can only link them if it holds one). -#}
{% macro identity_sources_with(identifier_types) %}
    {%- set names = [] -%}
    {%- for source, model, time_expr, bot_expr, columns in identity_record_specs() -%}
        {%- for identifier_type, expr in columns if identifier_type in identifier_types and source not in names -%}
            {%- do names.append(source) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(names) }}
{% endmacro %}
