{{ staged_by_delivery_day('ads') }}
with source as (
    select * from {{ source('raw', 'ads') }}
    where not _is_duplicate{{ restaged_days_filter('ads') }}
),

typed as (
    select
        _event_id as event_id,
        {{ json_str('record', 'click_id') }} as click_id,
        {{ json_str('record', 'network') }} as network,
        {{ json_str('record', 'campaign_id') }} as campaign_id,
        {{ json_str('record', 'campaign_name') }} as campaign_name,
        {{ json_str('record', 'ad_group') }} as ad_group,
        {{ safe_cast(json_str('record', 'cost_micros'), 'bigint') }} / 1000000.0 as cost,
        {{ iso8601_to_utc(json_str('record', 'click_time')) }} as event_at,
        {{ lineage_columns() }}
    from source
)

select *, cast(event_at as date) as event_date
from typed
