{{ staged_by_delivery_day('app') }}
{{ segment_events('app', with_device=true) }}
