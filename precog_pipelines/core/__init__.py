"""The shared Dagster layer: partitions, check builders, metadata helpers and automation
conditions that more than one ``defs/`` domain uses. Domains import it, never each other."""
