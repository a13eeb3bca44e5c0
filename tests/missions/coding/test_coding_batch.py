"""A small flown batch goes through the same adapters and criteria as a user's logs, and is scored as the
world judged it; the Claude crew plays the same roles with the same tools against the local API stub."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from pipeline.dreaming.statistical import cited_counters
from pipeline.dreaming.window import load_window
from pipeline.home import ReverieHome
from pipeline.ingest.engine import ingest
from pipeline.lake import scan_table
from pipeline.llm.client import LLMSettings
from pipeline.missions.coding import world
from pipeline.missions.coding.mission import CODING
from pipeline.missions.coding.runner import TaskSpec, run_task
from pipeline.outcomes.scoring import score_partition
from pipeline.outcomes.spec import load_criteria
from tests.missions.coding.test_coding_crew import PLAYBOOK, REPO
from tests.support.messages_stub import MessagesStub

DAY = date(2026, 11, 5)


def test_a_flown_batch_is_ingested_and_scored_as_the_world_judged_it(tmp_path):
    home = ReverieHome.at(tmp_path / "home").ensure()
    batch = CODING.fly_batch(home, DAY, 40, playbook=PLAYBOOK)
    assert len(batch.paths) == 40 and any("/.codex/" in p for p in batch.paths)
    ingest(home, [home.landing / DAY.isoformat()], workers=1)
    score_partition(
        home, DAY, load_criteria([world.__file__.rsplit("/pipeline/", 1)[0] + "/outcomes/coding.yaml"])
    )
    verdicts = dict(
        scan_table(home, "outcomes", [DAY.isoformat()])
        .group_by("session_id")
        .agg(pl.col("passed").fill_null(False).filter(pl.col("required").fill_null(False)).all())
        .collect()
        .iter_rows()
    )
    assert {r.session_id: r.success for r in batch.results} == verdicts
    assert 0 < sum(verdicts.values()) < len(verdicts)  # both outcomes occur
    projects = scan_table(home, "sessions", [DAY.isoformat()]).select("project").collect()["project"]
    assert set(projects) <= {r.name for r in world.repositories()}
    # What the crew followed reaches the dreamer's counters through the transcripts' own words.
    window = load_window(home, DAY, 1)
    cited = window.citations.explode("followed")
    followed = {(r.session_id, i) for r in batch.results for i in r.followed}
    assert followed and {(s, i) for s, i in cited.select("session_id", "followed").iter_rows()} == followed
    citing = [r for r in batch.results if "less-0000000a" in r.followed]
    helpful, harmful = cited_counters(window, None)["less-0000000a"]
    assert (helpful, harmful) == (sum(r.success for r in citing), sum(not r.success for r in citing))


def _claude_crew(body: dict) -> dict:
    """A scripted model: the lead delegates; each specialist does its part with the shared tools."""
    role = body["system"][0]["text"].split(".")[0].removeprefix("You are ")
    last = body["messages"][-1]
    if isinstance(last["content"], list):
        return {"content": [{"type": "text", "text": f"{role}: done"}], "stop_reason": "end_turn"}
    task = world.task(world.task_id(REPO.index, 3))
    calls = {
        "lead": [
            {"name": "send_message", "input": {"to": r, "content": "Your part."}}
            for r in ("planner", "coder", "tester")
        ]
        if "Wrap up" not in last["content"]
        else [],
        "planner": [
            {"name": "run_command", "input": {"command": "pip install -e .", "followed": ["less-0000000a"]}}
        ],
        "coder": [
            {
                "name": "edit_file",
                "input": {"path": REPO.source_file(task.module), "old_string": "a", "new_string": "b"},
            }
        ],
        "tester": [
            {
                "name": "run_command",
                "input": {"command": f"pytest {REPO.test_file(task.module)}", "followed": ["less-0000000b"]},
            }
        ],
    }[role]
    if not calls:
        return {"content": [{"type": "text", "text": "Done."}], "stop_reason": "end_turn"}
    return {"content": [{"type": "tool_use", **c} for c in calls], "stop_reason": "tool_use"}


def test_the_claude_crew_reads_the_export_and_uses_the_same_tools(tmp_path):
    with MessagesStub(_claude_crew) as stub:
        settings = LLMSettings(api_key="test", base_url=stub.url, max_retries=0)
        record = run_task(
            TaskSpec(
                day=DAY,
                index=0,
                seed=world.task_id(REPO.index, 3),
                backend="claude",
                playbook=PLAYBOOK,
                llm=settings,
                landing_dir=tmp_path,
            )
        )
        requests = [body for path, body in stub.requests if path == "/v1/messages"]
    assert record.followed == ["less-0000000a", "less-0000000b"]
    assert record.metrics["test_runs"] >= 1 and record.path is not None and record.tokens_in > 0
    planner = next(b for b in requests if b["system"][0]["text"].startswith("You are planner"))
    assert "less-0000000a" in planner["system"][-1]["text"]  # the CLAUDE.md export, fenced as data
    assert {t["name"] for t in planner["tools"]} >= {"run_command", "read_file", "send_message"}
    transcript = Path(record.path).read_text(encoding="utf-8")
    assert "pip install -e ." in transcript and "Following the playbook: [less-0000000a]" in transcript


def test_re_flying_a_day_rewrites_the_same_transcripts_and_held_out_tasks_are_never_written(tmp_path):
    home = ReverieHome.at(tmp_path / "home").ensure()
    first = CODING.fly_batch(home, DAY, 6)
    before = {p: Path(p).read_bytes() for p in first.paths}
    again = CODING.fly_batch(home, DAY, 6, workers=2)
    assert {p: Path(p).read_bytes() for p in again.paths} == before
    held = CODING.fly_batch(home, DAY, 4, heldout=True)
    assert held.heldout and held.paths == [] and held.exploration == 0.0
