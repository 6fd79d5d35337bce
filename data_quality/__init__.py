"""Data quality: great-expectations suites as code and the sync-accuracy reconciliation."""
