"""Ingest: landing logs, staged files, the events, sessions and rejects tables."""
