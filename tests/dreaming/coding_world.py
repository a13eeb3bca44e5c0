"""A small simulated coding world with planted lessons, for testing the coding-lesson miners.

Three repositories, each session a random policy over real-looking commands, and outcomes that follow hidden
rules: in `acme-api`, `pytest` fails with ModuleNotFoundError unless `pip install -e .` ran first; in
`web-app`, `npm test` times out unless run with `--runInBand`; anywhere, `sed -i` edits break the file (the
next test run hits a SyntaxError) where the Edit tool does not; in `tools-cli`, a flaky test fails now and then
and passes when re-run, while "debugging" it by editing the test breaks it. Noise commands are sprinkled
everywhere. `planted=False` switches a rule off, to check a lesson is retired when it stops being true.
In `docs-site` (only when asked for, see `WITH_DOCS`), every session runs `make check` and `git push`, and
neither ever errors: but pushing before checking breaks the deployed site most of the time (the session
fails though its last check is green), so "run `make check` before `git push`" is a lesson whose command
never fails.
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from pipeline.missions.coding.transcripts import CodingTranscript, ToolCall, write_transcript

PROJECTS = ("acme-api", "web-app", "tools-cli")
WITH_DOCS = (*PROJECTS, "docs-site")


@dataclass
class Call:
    command: str  # what the agent ran (a shell command, or "Edit <file>" for the file tool)
    action: str  # what the action parser yields for it
    failed: bool
    output: str


@dataclass
class Session:
    session_id: str
    project: str
    day: str
    calls: list[Call] = field(default_factory=list)
    site_broken: bool = False  # pushed unchecked work that broke the deployment (nothing in the log errs)

    @property
    def success(self) -> bool:
        runners = ("pytest", "npm test", "npm test -- --runInBand", "make check")
        tests = [c for c in self.calls if c.action in runners]
        return bool(tests) and not tests[-1].failed and not self.site_broken


def _signature(output: str) -> str:
    """The informative line, masked as the lake's error signatures are (the exception, else the summary)."""
    lines = [line.strip().lstrip("E").strip() for line in output.splitlines() if line.strip()]
    named = [line for line in lines if "Error" in line or "timed out" in line]
    line = (named or lines)[-1]
    return re.sub(r"\d+(\.\d+)?", "<n>", line.replace("'acme'", "<str>"))


def _noise(rng: random.Random, session: Session) -> None:
    for command in rng.sample(["ls", "git status", "cat README.md", "git diff"], k=rng.randint(0, 2)):
        session.calls.append(Call(command, command, False, "ok"))


def _edit(rng: random.Random, session: Session, file: str, sed: bool) -> bool:
    """Returns whether the edit broke the file."""
    if sed:
        session.calls.append(Call(f"sed -i 's/old/new/' {file}", "sed -i", False, ""))
        return rng.random() < 0.7
    kind = file.rsplit(".", 1)[1]
    session.calls.append(Call(f"Edit {file}", f"Edit *.{kind}", False, "The file has been updated."))
    return False


def simulate_session(
    rng: random.Random, session_id: str, project: str, day: str, install_rule: bool = True
) -> Session:
    session = Session(session_id, project, day)
    _noise(rng, session)
    sed = rng.random() < 0.5
    if project == "acme-api":
        installed = rng.random() < 0.5
        if installed:
            session.calls.append(
                Call("pip install -e .", "pip install -e .", False, "Successfully installed acme")
            )
        session.calls.append(Call("Read src/acme/app.py", "Read *.py", False, "def app(): ..."))
        broken = _edit(rng, session, "src/acme/app.py", sed)
        for attempt in range(2):
            if install_rule and not installed:
                out = "E   ModuleNotFoundError: No module named 'acme'\n1 error in 0.05s"
                session.calls.append(Call("pytest", "pytest", True, out))
                if attempt == 0 and rng.random() < 0.3:
                    session.calls.append(
                        Call("pip install -e .", "pip install -e .", False, "Successfully installed")
                    )
                    installed = True
                    continue
            elif broken:
                out = "E     SyntaxError: invalid syntax\n1 error in 0.04s"
                session.calls.append(Call("pytest", "pytest", True, out))
            else:
                session.calls.append(Call("pytest", "pytest", False, "12 passed in 0.31s"))
            break
    elif project == "web-app":
        session.calls.append(Call("npm install", "npm install", False, "added 312 packages"))
        broken = _edit(rng, session, "src/App.ts", sed)
        in_band = rng.random() < 0.5
        if in_band:
            failed = broken
            out = "SyntaxError: Unexpected token (3:7)" if broken else "Tests: 9 passed, 9 total"
            session.calls.append(Call("npm test -- --runInBand", "npm test -- --runInBand", failed, out))
        else:
            session.calls.append(Call("npm test", "npm test", True, "Command timed out after 120000ms"))
    elif project == "docs-site":
        session.calls.append(Call("Edit docs/index.md", "Edit *.md", False, "The file has been updated."))
        checked_first = rng.random() < 0.5
        if checked_first:
            session.calls.append(Call("make check", "make check", False, "All 42 pages built."))
        session.calls.append(Call("git push", "git push", False, "main -> main"))
        if not checked_first:
            session.calls.append(Call("make check", "make check", False, "All 42 pages built."))
            session.site_broken = rng.random() < 0.7
    else:
        broken = _edit(rng, session, "src/tools/cli.py", sed)
        flaky = rng.random() < 0.5
        if broken:
            session.calls.append(Call("pytest", "pytest", True, "E     SyntaxError: invalid syntax\n1 error"))
        elif flaky:
            out = "FAILED tests/test_io.py::test_timing - AssertionError\n1 failed, 11 passed in 0.40s"
            session.calls.append(Call("pytest", "pytest", True, out))
            if rng.random() < 0.5:
                session.calls.append(Call("pytest", "pytest", False, "12 passed in 0.38s"))
            else:
                session.calls.append(
                    Call("Read tests/test_io.py", "Read *.py", False, "def test_timing(): ...")
                )
                session.calls.append(
                    Call("Edit tests/test_io.py", "Edit *.py", False, "The file has been updated.")
                )
                failed = rng.random() < 0.8
                out = (
                    "FAILED tests/test_io.py::test_timing - AssertionError\n1 failed"
                    if failed
                    else "12 passed"
                )
                session.calls.append(Call("pytest", "pytest", failed, out))
        else:
            session.calls.append(Call("pytest", "pytest", False, "12 passed in 0.38s"))
    _noise(rng, session)
    return session


def simulate(
    n_sessions: int,
    seed: int,
    days: tuple[str, ...] = ("2026-11-01",),
    install_rule: bool = True,
    projects: tuple[str, ...] = PROJECTS,
) -> list[Session]:
    rng = random.Random(seed)
    return [
        simulate_session(
            rng,
            f"s{seed}-{i:04d}",
            projects[i % len(projects)],
            days[(i // len(projects)) % len(days)],
            install_rule,
        )
        for i in range(n_sessions)
    ]


def as_frames(sessions: list[Session]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The miners' inputs: steps (session_id, step, action, failed, signature) and sessions."""
    rows = [
        {
            "session_id": s.session_id,
            "step": i + 1,
            "action": c.action,
            "failed": c.failed,
            "signature": _signature(c.output) if c.failed else None,
        }
        for s in sessions
        for i, c in enumerate(s.calls)
    ]
    steps = pl.DataFrame(
        rows,
        schema={
            "session_id": pl.String,
            "step": pl.Int64,
            "action": pl.String,
            "failed": pl.Boolean,
            "signature": pl.String,
        },
    )
    frame = pl.DataFrame(
        {
            "session_id": [s.session_id for s in sessions],
            "success": [s.success for s in sessions],
            "project": [s.project for s in sessions],
        }
    )
    return steps, frame


def as_transcript(session: Session, start: datetime) -> CodingTranscript:
    """The session as a coding agent would have logged it (shell commands, Read/Edit file tools)."""
    calls = []
    for call in session.calls:
        tool, _, rest = call.command.partition(" ")
        if tool == "Edit":
            calls.append(ToolCall("edit", call.output, path=rest, old="x = 1", new="x = 2"))
        elif tool == "Read":
            calls.append(ToolCall("read", call.output, path=rest))
        else:
            calls.append(
                ToolCall("shell", call.output, exit_code=1 if call.failed else 0, command=call.command)
            )
    return CodingTranscript(
        session_id=str(uuid.uuid5(uuid.NAMESPACE_URL, session.session_id)),
        cwd=f"/home/dev/src/{session.project}",
        branch="main",
        started_at=start,
        task=f"Fix the failing check in {session.project}",
        calls=calls,
    )


def write_transcripts(sessions: list[Session], root: Path, codex_every: int = 4) -> dict[str, Session]:
    """Write every session under `root` (every `codex_every`-th as a Codex rollout, the rest as Claude
    Code); returns the simulated session behind each transcript's session id."""
    written = {}
    for index, session in enumerate(sessions):
        day = datetime.fromisoformat(session.day).replace(tzinfo=UTC)
        transcript = as_transcript(session, day + timedelta(hours=8, minutes=2 * index % 600))
        style = "codex" if index % codex_every == codex_every - 1 else "claude_code"
        write_transcript(transcript, root, style)
        written[transcript.session_id] = session
    return written
