"""The CLI's conversion of plain values gives what typer's own (pydantic) conversion gives, errors included."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer._coercion import build_runtime_param
from typer.core import _TyperParameter

from cli.plain_values import PlainConversion, convert_command_values, converts_plainly


class Shape(StrEnum):
    table = "table"
    csv = "csv"


def command(
    text: str = typer.Argument(None),
    number: int = typer.Option(200, "--number"),
    where: Path = typer.Option(None, "--where"),
    existing: Path = typer.Option(None, "--existing", exists=True),
    shape: Shape = typer.Option(Shape.table, "--shape"),
    loud: bool = typer.Option(False, "--loud"),
    ranged: int = typer.Option(1, "--ranged", min=0, max=9),
    many: list[str] = typer.Option(None, "--many"),
) -> None:
    """Every kind of parameter the CLI declares, and some it converts the typer way."""


def build() -> Any:
    app = typer.Typer(add_completion=False)
    app.command("probe")(command)
    return typer.main.get_command(app)


def converted(param: _TyperParameter, value: Any, plain: bool) -> tuple[str, Any]:
    """("ok", value and its type) or ("error", the message a user would read)."""
    descriptor = param.type_descriptor
    conversion = (
        PlainConversion(
            parameter_info=descriptor.parameter_info, annotation=descriptor.annotation, descriptor=descriptor
        )
        if plain
        else build_runtime_param(descriptor)
    )
    probe = build()
    ctx = probe.make_context("probe", [], resilient_parsing=True)
    try:
        result = conversion.coerce(value, param=param, ctx=ctx)
    except Exception as exc:  # both sides must fail alike
        return "error", f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"
    return "ok", (result, type(result))


def param(name: str) -> _TyperParameter:
    return next(p for p in build().params if p.name == name)


VALUES: dict[str, list[Any]] = {
    "text": ["select 1", "", " ", "[/]", "ünïcode", b"bytes"],
    "number": [
        200,
        "12",
        "0",
        "-3",
        "007",
        "+5",
        " 5 ",
        "1_000",
        "1.0",
        "1e3",
        "",
        "x",
        "99999999999999999999",
    ],
    "where": ["", ".", "a//b", "./x", "~", "/tmp", Path("/tmp")],
    "existing": ["/", "/definitely/not/here", ""],
    "shape": [Shape.table, "table", "csv", "CSV", "xml", ""],
    "loud": [True, False, "true", "no", "maybe"],
}


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, values in VALUES.items() for v in values])
def test_plain_conversion_agrees_with_typer(name: str, value: Any) -> None:
    assert converted(param(name), value, plain=True) == converted(param(name), value, plain=False)


@settings(max_examples=150, deadline=None)
@given(
    value=st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.from_regex(r"-?[0-9_ .+e]{1,8}")
)
def test_any_text_converts_alike_as_a_number_text_path_or_choice(value: str) -> None:
    for name in ("number", "text", "where", "shape"):
        assert converted(param(name), value, plain=True) == converted(param(name), value, plain=False)


def test_only_single_plain_values_skip_typer():
    plain = {p.name for p in build().params if converts_plainly(p.type_descriptor)}
    assert plain == {"text", "number", "where", "existing", "shape", "loud"}  # not `ranged`, not `many`


def test_a_converted_command_parses_and_reports_errors_as_typer_does():
    probe = build()
    ctx = typer.Context(probe, info_name="probe")
    convert_command_values(probe, ctx)
    converted_params = {
        p.name for p in probe.get_params(ctx) if isinstance(p._runtime_param, PlainConversion)
    }
    assert converted_params == {"text", "number", "where", "existing", "shape", "loud", "help"}
    parsed = probe.make_context("probe", ["--number", "12", "--shape", "csv", "--where", "x", "--loud"])
    assert parsed.params == {
        "text": None,
        "number": 12,
        "where": Path("x"),
        "existing": None,
        "shape": Shape.csv,
        "loud": True,
        "ranged": 1,
        "many": (),
    }
    with pytest.raises(typer.BadParameter, match="'xml' is not one of 'table', 'csv'"):
        probe.make_context("probe", ["--shape", "xml"])
