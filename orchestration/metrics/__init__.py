"""Plain logic behind the metrics marts (lifetime value); no Dagster here."""
