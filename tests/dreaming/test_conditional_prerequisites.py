"""A command can need two setup steps: both come out as prerequisites, and a habit that only travels with one
of them does not."""

from __future__ import annotations

import random

import polars as pl

from pipeline.dreaming.coding_miners import mine_coding_lessons
from pipeline.dreaming.settings import DreamSettings


def _sessions(n: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = random.Random(seed)
    steps, outcomes = [], []
    for i in range(n):
        sid = f"s{i:04d}"
        install, env = rng.random() < 0.5, rng.random() < 0.5
        habit = install and rng.random() < 0.8  # `git status` mostly rides along with the install
        actions = [
            a
            for a, done in (("git status", habit), ("pip install -e .", install), ("cp <path>", env))
            if done
        ]
        ok = install and env
        signature = (
            None
            if ok
            else ("ModuleNotFoundError: No module named <name>" if not install else "KeyError: <str>")
        )
        rows = [(a, False, None) for a in actions] + [("pytest", not ok, signature)]
        steps += [
            {"session_id": sid, "step": k + 1, "action": a, "failed": f, "signature": sig}
            for k, (a, f, sig) in enumerate(rows)
        ]
        outcomes.append({"session_id": sid, "success": ok, "project": "acme-api"})
    return pl.DataFrame(steps), pl.DataFrame(outcomes)


def test_both_prerequisites_of_a_command_are_found_and_the_riding_habit_is_not():
    steps, sessions = _sessions(240, seed=3)
    found = mine_coding_lessons(steps, sessions, DreamSettings())
    prerequisites = {
        f.rule.prerequisite for f in found if f.kind == "precondition" and f.rule.action == "pytest"
    }
    assert {"pip install -e .", "cp \u2039path\u203a"} <= prerequisites  # actions are stored inert
    assert "git status" not in prerequisites
