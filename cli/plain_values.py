"""Command-line values of plain types (text, whole numbers, paths, choices) converted without pydantic.

Why: typer converts every parameter through a pydantic TypeAdapter. Importing pydantic and building the
adapters was the largest part of what `reverie sql` took beyond DuckDB itself (issue 17). For the values a
command line carries the conversion is trivial: text stays text, `12` is 12, and typer's own functions check
paths and choices. So each parameter of those types first converts its value here; anything else (`--limit
1e3`, an unknown choice, bytes) goes to typer's pydantic conversion, which gives the value or the usual error
message. tests/cli/test_plain_values.py checks both give the same result for every kind of value.

What is used from typer is internal to it (`typer._coercion`, `typer._param_types`): uv.lock pins the
version, and the tests above fail on an upgrade that changes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer._click import Command
from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
from typer._param_types import coerce_cli_choice, coerce_cli_path, lenient_issubclass, routes_to_path
from typer.core import _TyperParameter
from typer.models import Context

# A whole number as pydantic reads it too, minus its leniencies (`+5`, ` 5 `, `1_000`, `1.0`), which go to it.
WHOLE_NUMBER = re.compile(r"0|-?[1-9][0-9]{0,17}")


class NotPlain(Exception):
    """The value is not one this module converts: typer's own conversion takes it."""


@dataclass(frozen=True)
class PlainConversion(RuntimeParam):
    """typer's conversion of one parameter, without pydantic for the values that need none."""

    descriptor: TypeDescriptor

    def _coerce_value(self, value: Any, param: _TyperParameter, ctx: Context) -> Any:
        try:
            return self.convert(value, param, ctx)
        except Exception:  # NotPlain, or a value typer's conversion rejects: it says why, in its words
            return build_runtime_param(self.descriptor)._coerce_value(value, param=param, ctx=ctx)

    def convert(self, value: Any, param: _TyperParameter, ctx: Context) -> Any:
        descriptor, annotation, info = self.descriptor, self.annotation, self.parameter_info
        if descriptor.is_choice:
            choices = descriptor.choices or ()
            return coerce_cli_choice(value, choices=choices, case_sensitive=info.case_sensitive, ctx=ctx)
        if annotation is bool and type(value) is bool:
            return value
        if annotation is str and type(value) is str:
            return value
        if annotation is int and type(value) is int:
            return value
        if annotation is int and type(value) is str and WHOLE_NUMBER.fullmatch(value):
            return int(value)
        if routes_to_path(annotation, info):
            path_type = info.path_type or (annotation if lenient_issubclass(annotation, Path) else None)
            if lenient_issubclass(path_type, Path) and type(value) is str:
                value = path_type(value)  # what pydantic makes of a str for a Path
            return coerce_cli_path(value, info, path_type=path_type, param=param, ctx=ctx)
        raise NotPlain(value)


def converts_plainly(descriptor: TypeDescriptor) -> bool:
    """A single value of a plain type, with no parser, range or file of its own."""
    annotation, info = descriptor.annotation, descriptor.parameter_info
    if descriptor.is_file or descriptor.is_list or descriptor.is_tuple or info.parser is not None:
        return False
    if descriptor.is_choice:
        return True
    if annotation is int:
        return info.min is None and info.max is None and not info.clamp
    return annotation in (bool, str) or routes_to_path(annotation, info)


def convert_plain_values(params: Iterable[Any]) -> None:
    """Give each plain parameter in `params` the conversion above (others keep typer's)."""
    for param in params:
        if isinstance(param, _TyperParameter) and param._runtime_param is None:
            descriptor = param.type_descriptor
            if converts_plainly(descriptor):
                param._runtime_param = PlainConversion(
                    parameter_info=descriptor.parameter_info,
                    annotation=descriptor.annotation,
                    descriptor=descriptor,
                )


def convert_command_values(command: Command, ctx: Context) -> None:
    """`convert_plain_values` for a command's parameters, its --help and those of its sub-commands.

    `ctx` is the parent's context: a sub-command's --help has the same names, and click keeps that option."""
    convert_plain_values(command.get_params(ctx))
    for sub_command in getattr(command, "commands", {}).values():
        convert_command_values(sub_command, ctx)
