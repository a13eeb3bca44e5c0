"""Test support that is not part of the engine: the local Messages API stub (`messages_stub`, with its wire
helpers in `messages_wire`) and synthetic lake corpora with planted patterns (`synthetic`, `synthetic_coding`).
Tests and benchmarks import them as `tests.support.<module>`; nothing under pipeline/, assets/, resources/ or
cli/ may."""
