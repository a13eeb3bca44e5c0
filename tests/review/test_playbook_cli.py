"""`reverie playbook show` and `playbook diff` as a reviewer reads them in a terminal."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from typer.testing import CliRunner

from cli import app
from pipeline.playbooks.model import Effect, Entry, EntryStatus, Playbook, Rule, Section
from pipeline.playbooks.store import PlaybookStore, version_for

runner = CliRunner()
SIGNATURE = "ModuleNotFoundError: No module named <str> at line <n>"


def _entry(
    entry_id: str,
    *,
    support: int = 5,
    rate: float = 0.8,
    status: EntryStatus = EntryStatus.CANDIDATE,
    reason: str | None = None,
    text: str | None = None,
) -> Entry:
    return Entry(
        id=entry_id,
        agent="*",
        section=Section.PROCEDURES,
        text=text or f"After the error «{SIGNATURE}», do pip_install -> run_tests.",
        rule=Rule(kind="recovery", error_signature=SIGNATURE, sequence=["pip_install", "run_tests"]),
        support=support,
        evidence=[f"s{i}" for i in range(support)],
        effect=Effect(
            rate_with=rate,
            rate_without=0.2,
            n_with=support,
            n_without=30,
            diff=rate - 0.2,
            ci_low=0.1,
            ci_high=0.7,
            p_value=0.01,
        ),
        status=status,
        retired_reason=reason,
        created_in="pb-2026-03-01",
        updated_in="pb-2026-03-01",
    )


def _write(store: PlaybookStore, day: date, entries: list[Entry]) -> str:
    book = Playbook(
        version=version_for(day),
        partition=day.isoformat(),
        entries=entries,
        created_at=datetime.combine(day, time.max, tzinfo=UTC),
    )
    store.write(book)
    return book.version


def test_show_keeps_placeholders_of_error_signatures(reverie_home):
    _write(PlaybookStore(reverie_home), date(2026, 3, 1), [_entry("reco-1")])
    result = runner.invoke(app, ["--home", str(reverie_home.root), "playbook", "show"], terminal_width=300)
    assert result.exit_code == 0, result.output
    entry_line = next(line for line in result.output.splitlines() if "reco-1" in line)
    assert "After the error «ModuleNotFoundError: No module named <str> at line <n>»" in entry_line


def test_diff_shows_old_and_new_values_and_retirement_reasons(reverie_home):
    store = PlaybookStore(reverie_home)
    old = _write(
        store,
        date(2026, 3, 1),
        [_entry("reco-1", support=5, rate=0.8), _entry("gone", text="Use [bold]x[/bold].")],
    )
    new = _write(
        store,
        date(2026, 3, 2),
        [
            _entry("reco-1", support=9, rate=0.6),
            _entry(
                "gone",
                text="Use [bold]x[/bold].",
                status=EntryStatus.RETIRED,
                reason="contradicted by 12 newer sessions",
            ),
            _entry("fresh", text="Run <cmd> before [red]tests[/red]."),
        ],
    )
    result = runner.invoke(
        app, ["--home", str(reverie_home.root), "playbook", "diff", old, new], terminal_width=300
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any("support" in line and "5" in line for line in lines)
    assert "-> 9" in result.output
    assert "80% with (n=5)" in result.output and "-> 60% with (n=9)" in result.output
    assert "5 sessions" in result.output and "-> 9 sessions (+4, -0)" in result.output
    assert "retired" in result.output and "contradicted by 12 newer sessions" in result.output
    # Entry text is shown as written, never read as rich markup.
    assert "Run <cmd> before [red]tests[/red]." in result.output
