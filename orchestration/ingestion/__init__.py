"""Loss-free ingestion of the landing zone into the warehouse's `raw` schema."""
