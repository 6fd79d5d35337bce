"""Every Dagster object of the pipeline: assets, checks, jobs, schedules, resources, one module per domain.

Only this package (and `orchestration.definitions`, which assembles it) imports dagster; the domain packages
beside it (ingestion, identity, privacy, publishing, attribution) are plain Python and SQL that these wrap.
"""
