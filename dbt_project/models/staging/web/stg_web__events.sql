{{ staged_by_delivery_day('web') }}
{{ segment_events('web', with_device=false) }}
