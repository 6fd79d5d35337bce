"""Identity tools beside the dbt models: scoring against ground truth, explaining a merge, forgetting a person."""
