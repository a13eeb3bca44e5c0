"""What every domain of the Dagster layer shares: partitions, table metadata, check helpers."""
