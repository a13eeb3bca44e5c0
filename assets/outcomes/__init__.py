"""Outcomes: per-session verdicts and the session_outcomes view."""
