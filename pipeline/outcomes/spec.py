"""Criteria specs: YAML files validated against a JSON Schema, checked deeply at load time.

A spec mistake found while scoring would mark every session as failed (or worse, as passed), so everything
that can be checked without data is checked when the files are loaded: YAML syntax, the schema, unknown
expectations and arguments, unknown metrics, metric SQL that does not run, bad regexes, type mismatches.
Each error names the file and line, so `reverie score` can say exactly what to fix.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import polars as pl
import yaml

from pipeline.outcomes.expectations import ColumnInfo, ExpectationError, validate_expectation
from pipeline.outcomes.metrics import SESSION_COLUMNS, MetricError, infer_metric_dtype

DEFAULT_CRITERIA_DIR = Path(__file__).resolve().parents[2] / "outcomes"
USER_CRITERIA_FOLDER = "outcomes"
"""`REVERIE_HOME/outcomes/*.yaml`: a user's own criteria, loaded after the shipped ones."""
SCHEMA_PATH = Path(__file__).resolve().parent / "criteria.schema.json"

KeyPath = tuple[str | int, ...]


class CriteriaError(ValueError):
    """A criteria spec is wrong; the message starts with `file:line:`."""


@dataclass(frozen=True)
class Metric:
    name: str
    sql: str
    dtype: pl.DataType
    description: str = ""
    source: str = ""


@dataclass(frozen=True)
class Criterion:
    """One success criterion: a GE expectation on a session metric, or a rubric graded by Claude."""

    name: str
    group: str
    weight: float = 1.0
    required: bool = False
    description: str = ""
    expectation_type: str | None = None
    expectation_kwargs: dict[str, Any] = field(default_factory=dict)
    rubric: str | None = None
    source: str = ""

    @property
    def is_rubric(self) -> bool:
        return self.rubric is not None

    @property
    def column(self) -> str | None:
        return self.expectation_kwargs.get("column")

    @property
    def mostly(self) -> float:
        return float(self.expectation_kwargs.get("mostly", 1.0))


@dataclass(frozen=True)
class CriteriaGroup:
    """Criteria for sessions whose task matches one of `tasks` (fnmatch globs, case-sensitive)."""

    name: str
    tasks: tuple[str, ...]
    criteria: tuple[Criterion, ...]
    fallback: bool = False
    description: str = ""

    def matches(self, task: str | None) -> bool:
        return any(fnmatch.fnmatchcase(task or "", pattern) for pattern in self.tasks)


@dataclass(frozen=True)
class CriteriaSuite:
    metrics: dict[str, Metric]
    groups: tuple[CriteriaGroup, ...]

    @property
    def criteria(self) -> list[Criterion]:
        return [c for g in self.groups for c in g.criteria]

    def criterion(self, name: str) -> Criterion:
        for candidate in self.criteria:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def groups_for(self, task: str | None) -> list[CriteriaGroup]:
        """Every matching regular group; the fallback groups only when no regular group matched."""
        regular = [g for g in self.groups if not g.fallback and g.matches(task)]
        return regular or [g for g in self.groups if g.fallback and g.matches(task)]

    def used_metrics(self) -> dict[str, str]:
        used = {c.column for c in self.criteria if c.column}
        return {name: m.sql for name, m in self.metrics.items() if name in used}


# --- YAML with line numbers --------------------------------------------------------------------------------


def _line_index(node: yaml.Node, path: KeyPath = ()) -> dict[KeyPath, int]:
    """Map every key path in the document to its 1-based line, so schema errors can point at the file."""
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, key_node.value)
            lines.update(_line_index(value_node, child))
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.update(_line_index(item, (*path, index)))
    return lines


def _line_of(lines: dict[KeyPath, int], path: Iterable[str | int]) -> int:
    path = tuple(path)
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path, 1)


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


def _read_document(path: Path) -> tuple[dict[str, Any], dict[KeyPath, int]]:
    try:
        text = path.read_text()
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise CriteriaError(f"{path}:{line}: invalid YAML: {problem}") from exc
    except OSError as exc:
        raise CriteriaError(f"{path}:0: cannot read: {exc.strerror}") from exc
    if node is None:
        raise CriteriaError(f"{path}:1: empty criteria file")
    lines = _line_index(node)
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        error = min(errors, key=lambda e: -len(e.absolute_path))  # the most specific complaint
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise CriteriaError(f"{path}:{_line_of(lines, error.absolute_path)}: {where}: {error.message}")
    return document, lines


# --- building the suite ---------------------------------------------------------------------------------------


class _SuiteBuilder:
    def __init__(self) -> None:
        self.metrics: dict[str, Metric] = {}
        self.groups: list[CriteriaGroup] = []
        self.criterion_sources: dict[str, str] = {}
        self.pending: list[tuple[Criterion, int]] = []
        self.group_files: dict[str, Path] = {}

    def _replace_group(self, name: str) -> None:
        """Forget a group an earlier file defined, so a later file's group of that name takes its place."""
        dropped = {c.name for g in self.groups if g.name == name for c in g.criteria}
        self.groups = [g for g in self.groups if g.name != name]
        self.pending = [(c, line) for c, line in self.pending if c.name not in dropped]
        for criterion in dropped:
            self.criterion_sources.pop(criterion, None)

    def add_file(self, path: Path) -> None:
        document, lines = _read_document(path)
        for group in document.get("groups") or []:
            if self.group_files.get(group["name"], path) != path:
                self._replace_group(group["name"])
        for name, body in (document.get("metrics") or {}).items():
            where = f"{path}:{_line_of(lines, ('metrics', name))}"
            if name in SESSION_COLUMNS:
                raise CriteriaError(f"{where}: metric {name!r} shadows the sessions column of that name")
            if name in self.metrics and not self.metrics[name].source.startswith(f"{path}:"):
                del self.metrics[name]  # a later file redefines it, as with groups
            if name in self.metrics:
                raise CriteriaError(
                    f"{where}: metric {name!r} already defined at {self.metrics[name].source}"
                )
            try:
                dtype = infer_metric_dtype(body["sql"])
            except MetricError as exc:
                sql_line = _line_of(lines, ("metrics", name, "sql"))
                raise CriteriaError(f"{path}:{sql_line}: metric {name!r}: {exc}") from exc
            self.metrics[name] = Metric(name, body["sql"], dtype, body.get("description", ""), where)
        for g_index, group in enumerate(document.get("groups") or []):
            criteria = []
            for c_index, spec in enumerate(group["criteria"]):
                c_path = ("groups", g_index, "criteria", c_index)
                where = f"{path}:{_line_of(lines, c_path)}"
                name = spec["name"]
                if name in self.criterion_sources:
                    raise CriteriaError(
                        f"{where}: criterion {name!r} already defined at {self.criterion_sources[name]}"
                    )
                self.criterion_sources[name] = where
                expectation = spec.get("expectation") or {}
                criterion = Criterion(
                    name=name,
                    group=group["name"],
                    weight=float(spec.get("weight", 1.0)),
                    required=bool(spec.get("required", False)),
                    description=spec.get("description", ""),
                    expectation_type=expectation.get("type"),
                    expectation_kwargs=dict(expectation.get("kwargs") or {}),
                    rubric=spec.get("rubric"),
                    source=where,
                )
                criteria.append(criterion)
                if not criterion.is_rubric:
                    self.pending.append((criterion, _line_of(lines, (*c_path, "expectation"))))
            tasks = group["task"]
            self.group_files[group["name"]] = path
            self.groups.append(
                CriteriaGroup(
                    name=group["name"],
                    tasks=(tasks,) if isinstance(tasks, str) else tuple(tasks),
                    criteria=tuple(criteria),
                    fallback=bool(group.get("fallback", False)),
                    description=group.get("description", ""),
                )
            )

    def build(self) -> CriteriaSuite:
        # Expectations are checked last so a metric defined in a later file can be used by an earlier one.
        columns = {**SESSION_COLUMNS, **{n: m.dtype for n, m in self.metrics.items()}}
        for criterion, line in self.pending:
            where = criterion.source.rsplit(":", 1)[0] + f":{line}"
            column = criterion.column or ""
            if column not in columns:
                raise CriteriaError(
                    f"{where}: criterion {criterion.name!r}: unknown metric {column!r} "
                    "(not a sessions column nor a named metric)"
                )
            try:
                validate_expectation(
                    criterion.expectation_type or "",
                    criterion.expectation_kwargs,
                    ColumnInfo(column, columns[column]),
                )
            except ExpectationError as exc:
                raise CriteriaError(f"{where}: criterion {criterion.name!r}: {exc}") from exc
        return CriteriaSuite(metrics=self.metrics, groups=tuple(self.groups))


def criteria_files(paths: Sequence[Path] | None = None) -> list[Path]:
    """The YAML files to load: given files, folders expanded to their *.yaml, or the shipped defaults."""
    roots = list(paths) if paths else [DEFAULT_CRITERIA_DIR]
    files: list[Path] = []
    for root in roots:
        root = Path(root)
        files.extend(sorted([*root.glob("*.yaml"), *root.glob("*.yml")]) if root.is_dir() else [root])
    return files


def user_criteria_files(home_root: Path) -> list[Path]:
    """The user's own criteria files: `REVERIE_HOME/outcomes/*.yaml` (none when the folder is absent)."""
    folder = Path(home_root) / USER_CRITERIA_FOLDER
    return criteria_files([folder]) if folder.is_dir() else []


def load_criteria(
    paths: Sequence[Path] | None = None,
    *,
    home_root: Path | None = None,
    extra: Sequence[Path] = (),
) -> CriteriaSuite:
    """Load and fully check criteria specs: `paths` (default: the shipped `outcomes/*.yaml`), then the
    user's `home_root/outcomes/*.yaml`, then `extra` files or folders (`reverie score --criteria PATH`).

    Users bring criteria without editing the checkout: a later file adds groups and metrics, and a group or
    metric with the name of an earlier one replaces it (so a user's `coding_defaults` group redefines coding
    success). Raises `CriteriaError("file:line: what is wrong")` on the first problem found.
    """
    builder = _SuiteBuilder()
    files = criteria_files(paths)
    if home_root is not None:
        files += user_criteria_files(home_root)
    if extra:
        missing = [str(p) for p in extra if not Path(p).exists()]
        if missing:
            raise CriteriaError(f"{missing[0]}:0: no such criteria file or folder")
        files += criteria_files(list(extra))
    for path in files:
        builder.add_file(path)
    return builder.build()
