"""The release report: the published marts drawn as plotly charts in one self-contained HTML page (no Dagster)."""
