{#- The channel registry: var('channels') in dbt_project.yml (docs/channels.md). Models loop over these instead of
    listing channels; orchestration/channels.py reads the same var for the Python side. -#}

{#- The fields an entry may have, per part: a misspelt field would otherwise be silently ignored. -#}
{% macro channel_registry_fields() %}
    {{ return({
        'entry': ['model', 'raw_table', 'channel', 'occurred_at', 'event_date', 'is_bot', 'consent', 'identity',
                  'touchpoints', 'sync'],
        'identity': ['identifiers', 'contact_trust', 'checkout_links'],
        'touchpoints': ['touch_type', 'direction', 'campaign_id', 'device_type', 'traffic_channel', 'sessions',
                        'engagement', 'utm_mediums', 'exposure', 'kpis'],
        'sync': ['counts', 'sums'],
        'counts': ['metric', 'distinct_key'],
        'sums': ['value', 'once_per', 'first_by'],
    }) }}
{% endmacro %}

{#- Every entry as (name, entry), in registry order, checked: a bad entry is a compile error naming it. -#}
{% macro channel_registry() %}
    {%- set fields = channel_registry_fields() -%}
    {%- set entries = [] -%}
    {%- for name, entry in var('channels').items() -%}
        {%- set problems = [] -%}
        {%- for key in entry if key not in fields['entry'] -%}
            {%- do problems.append('unknown field ' ~ key) -%}
        {%- endfor -%}
        {%- for part in ['identity', 'touchpoints', 'sync'] if entry.get(part) is not none -%}
            {%- for key in entry[part] if key not in fields[part] -%}
                {%- do problems.append('unknown field ' ~ part ~ '.' ~ key) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- if not entry.get('model') -%}{%- do problems.append('no model') -%}{%- endif -%}
        {%- if entry.get('touchpoints') is not none -%}
            {%- for key in ['touch_type', 'direction'] if entry.touchpoints.get(key) is none -%}
                {%- do problems.append('no touchpoints.' ~ key) -%}
            {%- endfor -%}
            {%- if not entry.get('channel') -%}{%- do problems.append('touchpoints without a channel') -%}{%- endif -%}
        {%- endif -%}
        {%- if entry.get('identity') is not none and not entry.identity.get('identifiers') -%}
            {%- do problems.append('identity without identifiers') -%}
        {%- endif -%}
        {%- if entry.get('sync') is not none -%}
            {%- for key in (entry.sync.get('counts') or {}) if key not in fields['counts'] -%}
                {%- do problems.append('unknown field sync.counts.' ~ key) -%}
            {%- endfor -%}
            {%- for metric, spec in (entry.sync.get('sums') or {}).items() -%}
                {%- for key in spec if key not in fields['sums'] -%}
                    {%- do problems.append('unknown field sync.sums.' ~ metric ~ '.' ~ key) -%}
                {%- endfor -%}
                {%- if spec.get('value') is none -%}
                    {%- do problems.append('no sync.sums.' ~ metric ~ '.value') -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
        {%- if problems -%}
            {{ exceptions.raise_compiler_error("var channels, entry '" ~ name ~ "': " ~ problems | join('; ')) }}
        {%- endif -%}
        {%- do entries.append((name, entry)) -%}
    {%- endfor -%}
    {{ return(entries) }}
{% endmacro %}

{#- The entries that have a part: identity, touchpoints or sync. -#}
{% macro channel_streams(part) %}
    {%- set entries = [] -%}
    {%- for name, entry in channel_registry() if entry.get(part) is not none -%}
        {%- do entries.append((name, entry)) -%}
    {%- endfor -%}
    {{ return(entries) }}
{% endmacro %}

{#- A registry expression as SQL: a string is SQL as written; {macro, args} is that macro's output; none is
    `default`. -#}
{% macro channel_sql(expr, default=none) %}
    {%- if expr is none -%}
        {{ return(default) }}
    {%- elif expr is mapping -%}
        {{ return(context[expr['macro']](*expr.get('args', []))) }}
    {%- else -%}
        {{ return(expr) }}
    {%- endif -%}
{% endmacro %}

{#- An entry's record-level expression (occurred_at, event_date, is_bot), with its default. -#}
{% macro channel_record_sql(entry, field) %}
    {%- set defaults = {'occurred_at': 'event_at', 'event_date': 'event_date', 'is_bot': 'false'} -%}
    {{ return(channel_sql(entry.get(field), defaults[field])) }}
{% endmacro %}

{#- Distinct values of a field of the entries that have a part, in registry order. -#}
{% macro _distinct_channels(part, flag=none) %}
    {%- set names = [] -%}
    {%- for name, entry in channel_streams(part) -%}
        {%- if (flag is none or entry[part].get(flag)) and entry.channel not in names -%}
            {%- do names.append(entry.channel) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(names) }}
{% endmacro %}

{#- The channels of fct_touchpoint, in registry order. -#}
{% macro touchpoint_channels() %}
    {{ return(_distinct_channels('touchpoints')) }}
{% endmacro %}

{#- The channels whose touches are grouped into sessions (web and app). -#}
{% macro session_channels() %}
    {{ return(_distinct_channels('touchpoints', 'sessions')) }}
{% endmacro %}

{#- The channels with a consent status, in registry order (dim_customer's <channel>_consent columns). -#}
{% macro consent_channels() %}
    {%- set names = [] -%}
    {%- for name, entry in channel_registry() if entry.get('consent') and entry.channel not in names -%}
        {%- do names.append(entry.channel) -%}
    {%- endfor -%}
    {{ return(names) }}
{% endmacro %}

{#- Per channel, the touch types that are engagement (a journey's touches). -#}
{% macro engagement_touches() %}
    {%- set touches = {} -%}
    {%- for name, entry in channel_streams('touchpoints') -%}
        {%- set types = touches.get(entry.channel, []) -%}
        {%- for t in entry.touchpoints.get('engagement') or [] if t not in types -%}
            {%- do types.append(t) -%}
        {%- endfor -%}
        {%- do touches.update({entry.channel: types}) -%}
    {%- endfor -%}
    {{ return(touches) }}
{% endmacro %}

{#- Per channel, the touch types that are a message the brand sent (the `sends` KPI of touchpoints.kpis): what a
    frequency cap and a consent check count. A send with a campaign is marketing; one without (an order
    confirmation, a support reply) is transactional. -#}
{% macro send_touches() %}
    {%- set touches = {} -%}
    {%- for name, entry in channel_streams('touchpoints') if (entry.touchpoints.get('kpis') or {}).get('sends') -%}
        {%- set types = touches.get(entry.channel, []) -%}
        {%- for t in entry.touchpoints.kpis.sends if t not in types -%}
            {%- do types.append(t) -%}
        {%- endfor -%}
        {%- do touches.update({entry.channel: types}) -%}
    {%- endfor -%}
    {{ return(touches) }}
{% endmacro %}

{#- utm_medium value -> the channel a web or app session landing with it was brought by. -#}
{% macro traffic_channel_by_utm_medium() %}
    {%- set by_medium = {} -%}
    {%- for name, entry in channel_streams('touchpoints') -%}
        {%- for medium in entry.touchpoints.get('utm_mediums') or [] -%}
            {%- if medium in by_medium and by_medium[medium] != entry.channel -%}
                {{ exceptions.raise_compiler_error("var channels: utm_medium '" ~ medium ~ "' names both "
                                                   ~ by_medium[medium] ~ " and " ~ entry.channel) }}
            {%- endif -%}
            {%- do by_medium.update({medium: entry.channel}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(by_medium) }}
{% endmacro %}

{#- Record source -> the channel a customer engaged on when the source holds a record of theirs. -#}
{% macro engaged_channel_by_source() %}
    {%- set by_source = {} -%}
    {%- for name, entry in channel_registry() if entry.get('channel') -%}
        {%- do by_source.update({name: entry.channel}) -%}
    {%- endfor -%}
    {{ return(by_source) }}
{% endmacro %}

{#- Everything the Python side derives from the registry too (orchestration/channels.py), as dbt derives it: the
    test that both agree compiles this. -#}
{% macro channel_registry_views() %}
    {%- set contact_trust = {} -%}
    {%- for name, entry in channel_streams('identity') if entry.identity.get('contact_trust') is not none -%}
        {%- do contact_trust.update({name: entry.identity.contact_trust}) -%}
    {%- endfor -%}
    {%- set sums = {} -%}
    {%- for name, entry in channel_streams('sync') -%}
        {%- do sums.update({name: (entry.sync.get('sums') or {}).keys() | list}) -%}
    {%- endfor -%}
    {%- set exposure = {} -%}
    {%- for name, entry in channel_streams('touchpoints') if entry.touchpoints.get('exposure') -%}
        {%- do exposure.update({entry.channel: entry.touchpoints.exposure}) -%}
    {%- endfor -%}
    {{ return({
        'fields': channel_registry_fields(),
        'touchpoint_channels': touchpoint_channels(),
        'session_channels': session_channels(),
        'consent_channels': consent_channels(),
        'engagement_touches': engagement_touches(),
        'send_touches': send_touches(),
        'traffic_channel_by_utm_medium': traffic_channel_by_utm_medium(),
        'exposure_touches': exposure,
        'engaged_channel_by_source': engaged_channel_by_source(),
        'identity_sources': identity_record_specs() | map(attribute=0) | list,
        'identity_identifier_types': identity_record_specs() | map(attribute=4) | sum(start=[])
                                     | map(attribute=0) | unique | list | sort,
        'contact_trust': contact_trust,
        'sync_sources': channel_streams('sync') | map(attribute=0) | list,
        'sync_sums': sums,
        'identifier_types': var('identity_priority').keys() | list,
    }) }}
{% endmacro %}

{#- `expr` is one of `values` (strings), as SQL; false when there are none. -#}
{% macro sql_in(expr, values) %}
    {%- if values | length == 0 -%}
        {{ return('false') }}
    {%- endif -%}
    {%- set quoted = [] -%}
    {%- for value in values -%}{%- do quoted.append("'" ~ value ~ "'") -%}{%- endfor -%}
    {{ return('(' ~ expr ~ ' in (' ~ quoted | join(', ') ~ '))') }}
{% endmacro %}
