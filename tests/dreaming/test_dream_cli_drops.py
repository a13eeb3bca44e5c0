"""`reverie dream --backend claude` shows the operations verification dropped, each with its reason, and the
playbook asset's metadata carries them (the CLI reads them from there)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli import app
from tests.dreaming.coding_lake import write_world
from tests.dreaming.coding_world import simulate
from tests.support.messages_stub import MessagesStub

pytestmark = pytest.mark.xdist_group("dagster-cli")
DAYS = ("2026-11-02", "2026-11-03", "2026-11-04")


def _curator(body: dict) -> dict:
    if not body.get("tools"):
        return {"content": [{"type": "text", "text": "Installs matter."}], "stop_reason": "end_turn"}
    operations = [
        {
            "op": "add",
            "text": "Run [bold]make bootstrap[/bold] first.",
            "evidence": ["s41-0000", "s41-0003", "s41-0006"],
            "rule": {"kind": "precondition", "prerequisite": "make bootstrap", "action": "pytest"},
        },
        {"op": "retire", "entry_id": "less-00000000", "reason": "old"},
    ]
    call = {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "propose_operations",
        "input": {"operations": operations},
    }
    return {"content": [call], "stop_reason": "tool_use"}


def test_dream_prints_dropped_operations_with_their_reasons(reverie_home, monkeypatch):
    write_world(reverie_home, simulate(150, seed=41, days=DAYS))
    with MessagesStub(_curator) as stub:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.url)
        result = CliRunner().invoke(
            app,
            [
                "--home",
                str(reverie_home.root),
                "dream",
                "--mission",
                "coding",
                "--date",
                DAYS[-1],
                "--backend",
                "claude",
            ],
            catch_exceptions=False,
        )
    assert result.exit_code == 0, result.output
    assert "2 operation(s) dropped" in result.output
    flat = " ".join(result.output.split())
    assert "names the action 'make bootstrap', which no session in its scope ran" in flat
    assert "retire of unknown entry or without reason: less-00000000" in flat
    assert "Traceback" not in result.output
