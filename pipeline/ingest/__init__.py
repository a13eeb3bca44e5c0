"""Adapters from session-log formats to `reverie.event/v1` rows, format sniffing, and the ingest engine."""
