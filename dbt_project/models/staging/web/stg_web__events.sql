{{ segment_events('web', with_device=false) }}
