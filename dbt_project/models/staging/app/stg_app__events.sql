{{ segment_events('app', with_device=true) }}
