"""Great Expectations' column-map vocabulary, compiled to polars expressions.

People already know GE's expectation names and argument names, so criteria are written in them; but GE
validates one suite at a time through pandas, which is far too slow to score every session of every day.
Each expectation here compiles to one vectorized polars expression giving, per session, whether the
session is *not* in GE's unexpected index list. The semantics follow GE 1.x's pandas engine exactly
(checked row by row in tests/outcomes/test_gx_parity.py):

- nulls (and NaN, which pandas treats as null) are never unexpected, except for the two null expectations;
- `mostly` does not change which sessions are unexpected, only whether the partition as a whole passes;
- `strict_min` / `strict_max` make a bound exclusive;
- regexes are searched anywhere in the text (pandas `str.contains`, i.e. `re.search`);
- `_to_be_of_type` / `_to_be_in_type_list` compare the pandas dtype the frame converts to, and check each
  value only when that dtype is `object`, as GE does.

Argument/type combinations that GE would reject or that would make GE raise at validation time are
refused when the criteria are loaded, so a bad spec fails early instead of scoring every session as failed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

COMMON_KWARGS = frozenset({"column", "mostly", "meta"})


class ExpectationError(ValueError):
    """A criterion's expectation cannot be compiled (unknown name, bad argument, wrong column type)."""


@dataclass(frozen=True)
class ColumnInfo:
    """What compilation needs to know about a metric column: its type and whether it holds nulls."""

    name: str
    dtype: pl.DataType
    has_nulls: bool = True


def _is_numeric(dtype: pl.DataType) -> bool:
    return dtype.is_numeric()


def _is_text(dtype: pl.DataType) -> bool:
    return dtype in (pl.String, pl.Categorical)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _require_bounds(kwargs: Mapping[str, Any], column: ColumnInfo, *, lengths: bool) -> None:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is None and high is None:
        raise ExpectationError("needs min_value or max_value (GE refuses both None)")
    bounds = [b for b in (low, high) if b is not None]
    if not lengths and not _is_numeric(column.dtype):
        raise ExpectationError(
            f"column {column.name!r} is {column.dtype}: GE 1.x bounds are numbers, so define a numeric metric"
        )
    if not all(_is_number(b) for b in bounds):
        raise ExpectationError(f"bounds must be numbers (GE 1.x refuses text bounds), got {bounds!r}")
    if low is not None and high is not None and low > high:
        raise ExpectationError("min_value cannot be greater than max_value")


def _between(expr: pl.Expr, kwargs: Mapping[str, Any]) -> pl.Expr:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    condition = pl.lit(True)
    if low is not None:
        condition = condition & (expr > low if kwargs.get("strict_min") else expr >= low)
    if high is not None:
        condition = condition & (expr < high if kwargs.get("strict_max") else expr <= high)
    return condition


def _check_value_set(kwargs: Mapping[str, Any], column: ColumnInfo) -> None:
    value_set = kwargs.get("value_set")
    if value_set is None:
        return
    if not isinstance(value_set, list | tuple):
        raise ExpectationError("value_set must be a list")
    if column.dtype == pl.Boolean:
        ok = all(isinstance(v, bool) for v in value_set)
    elif _is_numeric(column.dtype):
        ok = all(_is_number(v) for v in value_set)
    elif _is_text(column.dtype):
        ok = all(isinstance(v, str) for v in value_set)
    else:
        raise ExpectationError(f"column {column.name!r} ({column.dtype}) cannot be matched against a set")
    if not ok:
        raise ExpectationError(
            f"value_set items must have the type of column {column.name!r} ({column.dtype})"
        )


def _in_set(expr: pl.Expr, kwargs: Mapping[str, Any], column: ColumnInfo) -> pl.Expr:
    value_set = kwargs.get("value_set")
    if value_set is None:  # GE: vacuously true
        return pl.lit(True)
    if _is_numeric(column.dtype):  # pandas isin compares numbers by value: 2 == 2.0
        return expr.cast(pl.Float64).is_in(pl.Series([float(v) for v in value_set], dtype=pl.Float64))
    return expr.is_in(pl.Series(list(value_set), dtype=column.dtype))


def _check_regex(kwargs: Mapping[str, Any], column: ColumnInfo) -> None:
    regex = kwargs.get("regex")
    if not isinstance(regex, str):
        raise ExpectationError("regex must be a string")
    try:
        re.compile(regex)
    except re.error as exc:
        raise ExpectationError(f"bad regex {regex!r}: {exc}") from exc
    try:  # the vectorized engine uses Rust's regex syntax: refuse what it cannot run rather than diverge
        pl.select(pl.lit("").str.contains(regex))
    except pl.exceptions.ComputeError as exc:
        raise ExpectationError(
            f"regex {regex!r} uses syntax the engine does not support (lookaround, backrefs)"
        ) from exc
    if not _is_text(column.dtype):
        raise ExpectationError(f"regex needs a text column; {column.name!r} is {column.dtype}")


def _check_text(kwargs: Mapping[str, Any], column: ColumnInfo) -> None:
    if not _is_text(column.dtype):
        raise ExpectationError(f"value lengths need a text column; {column.name!r} is {column.dtype}")


# --- types: mirror the pandas dtype GE sees after `to_pandas()` ---------------------------------------------


def _pandas_dtype(column: ColumnInfo) -> Any:
    """The dtype GE's pandas engine sees for this column (ints with nulls become float64, and so on)."""
    sample = pl.Series(column.name, [None] if column.has_nulls else [], dtype=column.dtype)
    return sample.to_pandas().dtype


def _gx_comparison_types(type_name: str) -> tuple[type, ...]:
    """GE's own resolution of a type name (numpy dtype, pandas attribute, python builtin)."""
    import numpy as np
    import pandas as pd
    from great_expectations.expectations.type_comparison import native_type_type_map

    found: list[type] = []
    try:
        found.append(np.dtype(type_name).type)
    except TypeError:
        for holder in (pd, pd.core.dtypes.dtypes):
            candidate = getattr(holder, type_name, None)
            if isinstance(candidate, type):
                found.append(candidate)
    native = native_type_type_map(type_name)
    if native is not None:
        found.extend(native)
    return tuple(found)


def _check_types(names: list[str]) -> None:
    for name in names:
        if not isinstance(name, str):
            raise ExpectationError(f"type names must be strings, got {name!r}")
        try:
            if not _gx_comparison_types(name):
                raise ExpectationError(
                    f"unknown type name {name!r} (use numpy or python names: int64, float, str, bool)"
                )
        except ExpectationError:
            raise
        except Exception as exc:  # numpy raises assorted errors for nonsense names
            raise ExpectationError(f"unknown type name {name!r}: {exc}") from exc


def _type_check(expr: pl.Expr, names: list[str], column: ColumnInfo) -> pl.Expr:
    dtype = _pandas_dtype(column)
    wanted = tuple(t for name in names for t in _gx_comparison_types(name))
    object_names = {"object", "object_", "O"}
    if dtype.type.__name__ == "object_" and not (set(names) & object_names):
        # object columns are checked value by value; ours hold python bools (booleans with nulls)
        sample_kinds = {bool: column.dtype == pl.Boolean, str: _is_text(column.dtype)}
        value_type = next((k for k, present in sample_kinds.items() if present), None)
        verdict = value_type is not None and issubclass(value_type, wanted)
        return expr.is_null() | pl.lit(verdict)
    return pl.lit(dtype.type in wanted)  # judged on the column's dtype: nulls share the column's verdict


@dataclass(frozen=True)
class ExpectationKind:
    """One expectation of the vocabulary: its arguments, a load-time check, and its per-row condition."""

    kwargs: frozenset[str]
    required: frozenset[str]
    check: Callable[[Mapping[str, Any], ColumnInfo], None]
    condition: Callable[[pl.Expr, Mapping[str, Any], ColumnInfo], pl.Expr]
    counts_nulls: bool = False  # True only for the null expectations: nulls are judged, not skipped
    handles_nulls: bool = False  # the condition decides for nulls itself (type checks on a typed column)


def _no_check(kwargs: Mapping[str, Any], column: ColumnInfo) -> None:
    return None


def _bounds_check(kwargs: Mapping[str, Any], column: ColumnInfo) -> None:
    _require_bounds(kwargs, column, lengths=False)


def _length_bounds_check(kwargs: Mapping[str, Any], column: ColumnInfo) -> None:
    _check_text(kwargs, column)
    _require_bounds(kwargs, column, lengths=True)


def _length_equal_check(kwargs: Mapping[str, Any], column: ColumnInfo) -> None:
    _check_text(kwargs, column)
    if not isinstance(kwargs.get("value"), int) or isinstance(kwargs.get("value"), bool):
        raise ExpectationError("value must be an integer length")


_BOUNDS = frozenset({"min_value", "max_value", "strict_min", "strict_max"})

VOCABULARY: dict[str, ExpectationKind] = {
    "expect_column_values_to_be_between": ExpectationKind(
        _BOUNDS, frozenset(), _bounds_check, lambda e, k, c: _between(e, k)
    ),
    "expect_column_values_to_be_in_set": ExpectationKind(
        frozenset({"value_set"}), frozenset({"value_set"}), _check_value_set, _in_set
    ),
    "expect_column_values_to_not_be_in_set": ExpectationKind(
        frozenset({"value_set"}),
        frozenset({"value_set"}),
        _check_value_set,
        lambda e, k, c: ~_in_set(e, k, c),
    ),
    "expect_column_values_to_not_be_null": ExpectationKind(
        frozenset(), frozenset(), _no_check, lambda e, k, c: e.is_not_null(), counts_nulls=True
    ),
    "expect_column_values_to_be_null": ExpectationKind(
        frozenset(), frozenset(), _no_check, lambda e, k, c: e.is_null(), counts_nulls=True
    ),
    "expect_column_values_to_match_regex": ExpectationKind(
        frozenset({"regex"}), frozenset({"regex"}), _check_regex, lambda e, k, c: e.str.contains(k["regex"])
    ),
    "expect_column_values_to_not_match_regex": ExpectationKind(
        frozenset({"regex"}), frozenset({"regex"}), _check_regex, lambda e, k, c: ~e.str.contains(k["regex"])
    ),
    "expect_column_value_lengths_to_be_between": ExpectationKind(
        _BOUNDS, frozenset(), _length_bounds_check, lambda e, k, c: _between(e.str.len_chars(), k)
    ),
    "expect_column_value_lengths_to_equal": ExpectationKind(
        frozenset({"value"}),
        frozenset({"value"}),
        _length_equal_check,
        lambda e, k, c: e.str.len_chars() == k["value"],
    ),
    "expect_column_values_to_be_of_type": ExpectationKind(
        frozenset({"type_"}),
        frozenset({"type_"}),
        lambda k, c: _check_types([k.get("type_")]),
        lambda e, k, c: _type_check(e, [k["type_"]], c),
        handles_nulls=True,
    ),
    "expect_column_values_to_be_in_type_list": ExpectationKind(
        frozenset({"type_list"}),
        frozenset({"type_list"}),
        lambda k, c: _check_types(list(k.get("type_list") or [])),
        lambda e, k, c: _type_check(e, list(k["type_list"]), c),
        handles_nulls=True,
    ),
}


def validate_expectation(type_: str, kwargs: Mapping[str, Any], column: ColumnInfo) -> None:
    """Refuse, with a one-line reason, anything GE would reject or raise on for this column."""
    kind = VOCABULARY.get(type_)
    if kind is None:
        known = ", ".join(sorted(VOCABULARY))
        raise ExpectationError(f"unknown expectation {type_!r}; supported: {known}")
    unknown = set(kwargs) - kind.kwargs - COMMON_KWARGS
    if unknown:
        raise ExpectationError(f"{type_} does not take {', '.join(sorted(unknown))}")
    missing = kind.required - set(kwargs)
    if missing:
        raise ExpectationError(f"{type_} needs {', '.join(sorted(missing))}")
    mostly = kwargs.get("mostly", 1.0)
    if not _is_number(mostly) or not 0.0 <= mostly <= 1.0:
        raise ExpectationError("mostly must be a number between 0 and 1")
    kind.check(kwargs, column)


def compile_expectation(type_: str, kwargs: Mapping[str, Any], column: ColumnInfo) -> pl.Expr:
    """Boolean expression: True where the session is NOT among GE's unexpected rows (never null)."""
    kind = VOCABULARY[type_]
    expr = pl.col(column.name)
    condition = kind.condition(expr, kwargs, column)
    if kind.counts_nulls or kind.handles_nulls:
        return condition
    return pl.when(expr.is_null()).then(pl.lit(True)).otherwise(condition)


def counts_nulls(type_: str) -> bool:
    """Whether nulls are judged (null expectations) or skipped, which decides GE's `mostly` denominator."""
    return VOCABULARY[type_].counts_nulls


def describe_expectation(type_: str, kwargs: Mapping[str, Any]) -> str:
    """A short human reading of the expectation, stored as the verdict's detail."""
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items() if k not in {"column", "meta"})
    return f"{type_}({kwargs['column']}{', ' + args if args else ''})"
