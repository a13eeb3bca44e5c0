"""The "your own team" example in docs/teams.md must keep working as the runner evolves."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.events import Event

DOC = Path(__file__).resolve().parents[2] / "docs" / "teams.md"


def test_team_example_in_docs_runs_and_writes_a_valid_session(tmp_path):
    code = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)[0]
    target = tmp_path / "quote-0001.jsonl"
    code = code.replace('Path(".reverie/landing/2025-01-01/quote-0001.jsonl")', f"Path({str(target)!r})")
    exec(compile(code, str(DOC), "exec"), {})
    events = [Event.model_validate_json(line) for line in target.read_text().splitlines()]
    assert [e.type for e in events][0] == "session_start" and events[-1].type == "session_end"
    decision = next(e for e in events if e.type == "decision")
    assert decision.input["parameter"] == "pricer.discount" and decision.agent == "pricer"
    assert events[-1].input["metrics"] == {"discount": 0.1}
