{#- Cross-system agreement: per channel, UTC event day and metric, how far the channels agree with the CRM.
    An operational metric, not sync accuracy: every count can match its source's control totals while the systems
    disagree. Each metric is the share of its denominator in one case (`rate`), flagged above its own threshold
    (var `agreement_max_<metric>`). A flag on the disagreements that matter (an address the CRM holds for another
    customer, an opt-out a channel ignored) carries `cross_system_agreement_severity` (warn, or error to block);
    the ones worth watching (an address the CRM never held, a stale one, a customer id the CRM does not know) only
    ever warn. -#}
{%- set severity = var('cross_system_agreement_severity') | string | trim | lower -%}
{%- if severity not in ['warn', 'error'] -%}
    {{ exceptions.raise_compiler_error("dbt var cross_system_agreement_severity must be 'warn' or 'error', not '"
                                       ~ var('cross_system_agreement_severity') ~ "'") }}
{%- endif -%}
{#- metric, the case of int_email_sends_classified it counts, and the severity of a flag -#}
{%- set address_metrics = [
    ('esp_address_held_by_other_customer', 'held_by_other_customer', severity),
    ('esp_address_unknown_to_crm', 'unknown_to_crm', 'warn'),
    ('esp_address_stale', 'stale', 'warn'),
    ('esp_customer_id_unknown_to_crm', 'customer_unknown_to_crm', 'warn'),
] -%}
{%- set max_rate = {} -%}
{%- for metric in (address_metrics | map('first') | list) + ['crm_opt_out_not_respected'] -%}
{%- set value = var('agreement_max_' ~ metric) -%}
{%- set number = value | float(-1) -%}
{%- if number < 0 or number > 1 or (value | string | trim) == '' -%}
        {{ exceptions.raise_compiler_error("dbt var agreement_max_" ~ metric ~ " must be a share between 0 and 1, not '"
                                           ~ value ~ "'") }}
    {%- endif -%}
{%- do max_rate.update({metric: number}) -%}
{%- endfor -%}

with address_days as (
    select
        event_date,
        count(*) as tagged_sends,
    {%- for metric, address_case, _ in address_metrics %}
    sum(case when address_case = '{{ address_case }}' then 1 else 0 end) as {{ address_case }}{{ ',' if not loop.last }}
    {%- endfor %}
    from {{ ref('int_email_sends_classified') }}
    group by event_date
),

metrics as (
    {%- for metric, address_case, breach in address_metrics %}
    select
        'email' as channel, event_date, '{{ metric }}' as metric, {{ address_case }} as numerator,
        tagged_sends as denominator, cast({{ max_rate[metric] }} as double) as max_rate, '{{ breach }}' as breach_severity
    from address_days
    union all
    {%- endfor %}
    select
        channel, event_date, metric, numerator, denominator,
        cast({{ max_rate['crm_opt_out_not_respected'] }} as double), '{{ severity }}'
    from {{ ref('int_consent_sync') }}
),

latest_delivery as (
    select max(delivery_date) as delivery_date from {{ ref('stg_control__delivery_days') }}
),

measured as (
    select
        m.*,
        case when m.denominator > 0 then cast(m.numerator as double) / m.denominator end as rate,
        -- Late events can still arrive inside the settling window, as for agg_sync_accuracy.
        m.event_date > {{ dbt.dateadd('day', -var('sync_settling_days', 3), 'l.delivery_date') }} as within_settling_window
    from metrics as m
    cross join latest_delivery as l
)

select
    channel, event_date, metric, cast(numerator as bigint) as numerator, cast(denominator as bigint) as denominator,
    rate, max_rate, breach_severity, within_settling_window,
    case
        when denominator = 0 or numerator <= max_rate * denominator then 'ok'
        when within_settling_window then 'not_yet_synced'
        else breach_severity
    end as status
from measured
