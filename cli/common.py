"""What every command shares: the home, the console, running a Dagster job and reading its metadata."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from pipeline.home import ReverieHome, activate
from pipeline.progress import Task, reporting

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


class ConsoleOnFirstUse:
    """A rich Console made when a command first prints with it.

    Rich takes a noticeable part of a short command's start (issue 17): `reverie sql --format csv` or
    `--format json` prints no rich output, so it never imports rich; a table or an error makes the console.
    """

    __slots__ = ("_make", "_console")

    def __init__(self, make: Callable[[], Console]) -> None:
        self._make = make
        self._console: Console | None = None

    def get(self) -> Console:
        if self._console is None:
            self._console = self._make()
        return self._console

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.get(), attribute)


def _stdout_console() -> Console:
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 120)


def _stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


console: Console = ConsoleOnFirstUse(_stdout_console)  # type: ignore[assignment]
err_console: Console = ConsoleOnFirstUse(_stderr_console)  # type: ignore[assignment]

_state: dict[str, ReverieHome] = {}


def set_home(path: Path | None) -> None:
    chosen = ReverieHome.at(path) if path else ReverieHome.from_env()
    try:
        _state["home"] = activate(chosen)
    except OSError as exc:  # a file in the way, a read-only disk, no permission
        fail(
            f"cannot use {chosen.root} as REVERIE_HOME: {exc.strerror or exc}; pass --home DIR or set REVERIE_HOME"
        )


def home() -> ReverieHome:
    if "home" not in _state:
        set_home(None)
    return _state["home"]


def one_line(text: str) -> str:
    """The first non-empty line of `text`, whitespace collapsed: errors from deep inside stay one line."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return " ".join(lines[0].split()) if lines else ""


def describe_error(exc: BaseException) -> str:
    """`Type: first line of the message`, the form every unexpected failure is reported in."""
    return f"{type(exc).__name__}: {one_line(str(exc))}".rstrip(": ")


def fail(message: str, code: int = 1) -> NoReturn:
    """One line that says what went wrong and what to do; an exit code scripts can trust."""
    # soft_wrap: a long message stays on one line (rich would otherwise wrap it at 80 columns off a tty)
    from rich.markup import escape

    # escape: a message quoting a path or SQL may hold `[...]`, which is text here, not rich markup
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def run(name: str, **kwargs: Any) -> Any:
    """Execute a Dagster job in-process on REVERIE_HOME's instance; failures become one-line errors."""
    from assets.runs import run_job

    try:
        result = run_job(name, home(), **kwargs)
    except Exception as exc:  # a failed step: say which and why in one line; the UI keeps the traceback
        cause = getattr(exc, "user_exception", None) or exc
        fail(f"{name} failed: {describe_error(cause)}")
    if not result.success:
        fail(f"{name} failed; see `reverie ui` for the run's logs")
    return result


def date_clusters(days: list[str], max_gap_days: int = 7) -> list[tuple[str, str]]:
    """Group sorted ISO days into ranges with small gaps.

    A single-run range records one materialization per partition it spans, so a range from a 1970-dated
    file to today would cost thousands of records; a few tight ranges cost almost nothing.
    """
    from datetime import date

    ranges: list[tuple[str, str]] = []
    for day in sorted(set(days)):
        if ranges and (date.fromisoformat(day) - date.fromisoformat(ranges[-1][1])).days <= max_gap_days:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def materialization_metadata(result: Any, asset: str) -> dict[str, Any]:
    """Plain values of the metadata an asset attached in a run (last materialization wins)."""
    found: dict[str, Any] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.asset_key.to_user_string() == asset:
            found = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
    return found


@contextmanager
def progress_bar(task: Task, description: str) -> Iterator[None]:
    """A rich progress bar fed by the pipeline's progress hook for `task`; silent when not a terminal."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console.get(),  # type: ignore[attr-defined]
        transient=True,
    ) as bar:
        handle = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(handle, completed=done, total=total)

        with reporting(task, update):
            yield


def print_kv(title: str, values: Mapping[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    for key, value in values.items():
        table.add_row(str(key), str(value))
    console.print(table)


def data_table(columns: list[str], rows: Iterable[tuple[Any, ...]], title: str | None = None) -> Table:
    """A table of query results: names and values are text, never rich markup or emoji codes.

    A value such as `[/]` or `[bold]` (SQL output, session text) would otherwise be read as markup: styled,
    or failing the whole command with a MarkupError.
    """
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(Text(str(column)))
    for row in rows:
        table.add_row(*(Text("" if v is None else str(v)[:80]) for v in row))
    return table


def print_rows(
    columns: list[str], rows: list[tuple[Any, ...]], limit: int = 200, title: str | None = None
) -> None:
    """Rows as a table, cells cut at 80 characters; says how many rows were left out."""
    console.print(data_table(columns, rows[:limit], title))
    if len(rows) > limit:
        console.print(f"[dim]{len(rows) - limit} more rows (use --format csv for all)[/]")
