"""The `action` of a tool call: what the agent did, in words that recur across sessions.

Tool names say too little to learn from (every shell command is `Bash`), and raw commands say too much (every
path, message and id differs). An action keeps what an agent could be told to do or avoid, and masks the
rest, the same way for every format:

- shell calls (any tool whose input holds a `command`/`cmd` string or argv list: Claude Code and Agent SDK
  `Bash`, Codex `exec_command`/`shell`/`local_shell`, OTel and OpenAI Agents tools that run commands):
  each simple command becomes `program [subcommand] [flags] [<path>]`, joined by the operators that joined
  them: `cd app && FOO=1 npm test -- --runInBand 2>&1 | tail -20` -> `npm test -- --runInBand | tail -<n>`.
  See `shell_action` for the rules.
- file tools (`Read`, `Edit`, `Write`, `MultiEdit`, `NotebookEdit`, `read_file`, ..., Codex `apply_patch`,
  the text-editor tool): the tool and the kinds of file touched: `Edit *.py`, `apply_patch *.py *.ts`.
- any other tool: its name.

`add_actions` fills the `events.action` column: tool calls get theirs, tool results the one of the call they
answer, so SQL can count failing actions without a self-join.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

import orjson
import polars as pl

from pipeline.action_vocabulary import (
    ARGUMENT_WRAPPERS,
    DROPPED_WHEN_NOT_ALONE,
    EDITOR_COMMANDS,
    FILE_TOOLS,
    GLOBAL_VALUE_FLAGS,
    KEYWORD_ALONE,
    KEYWORD_PREFIXES,
    NESTED_SUBCOMMANDS,
    PATTERN_FIRST,
    PLAIN_PROGRAMS,
    RUNNERS,
    SHELL_KEYS,
    SHELLS,
    SUBCOMMAND_DEPTH,
    WELL_KNOWN_FILES,
    WRAPPER_VALUE_FLAGS,
    WRAPPERS,
)
from pipeline.shell_words import Word, split_commands

ACTION_CHARS = 200
MAX_PARTS = 8
PART_SEPARATORS = (" && ", " || ", " | ", " ; ", " & ")


_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_VERSIONED = re.compile(r"^(python|pip|pytest|node|ruby|perl|php)[\d.]+$")
_NUMBER = re.compile(r"^[-+]?\d+(?:[.,:]\d+)*[kKmMsSgG%]?$")
_SUBCOMMAND = re.compile(r"^[a-z][a-z0-9_:-]*$")
_KNOWN_SUBCOMMAND = re.compile(r"^[a-z][a-z0-9_.:-]*$")  # `mix deps.get`, `mix ash.codegen`
_FILE_SUFFIX = re.compile(r"\.(?=[A-Za-z0-9_+-]*[A-Za-z])[A-Za-z0-9_+-]{1,10}$")
_PATCH_FILE = re.compile(r"^\*\*\* (?:Add|Update|Delete) File: (.+)$", re.MULTILINE)


def _program_name(word: str) -> str:
    """`/usr/bin/python3.11` -> `python`, `./node_modules/.bin/jest` -> `jest`, `./gradlew` -> `gradlew`."""
    name = word.rsplit("/", 1)[-1] or word
    name = _VERSIONED.sub(r"\1", name)
    return {"pip3": "pip", "python3": "python", "py.test": "pytest", "nodejs": "node"}.get(name, name)


def _is_path(word: Word) -> bool:
    text = word.text
    if any(c.isspace() for c in text) or (word.expanded and not text.startswith("$")):
        return False  # a message, a script or a command substitution, not a file
    return (
        "/" in text
        or text.startswith("~")
        or bool(_FILE_SUFFIX.search(text))
        or any(c in text for c in "*?[")
        or text in (".", "..")
    )


def _mask_argument(word: Word) -> str | None:
    """A positional argument as shown in an action: `.` and `..` verbatim, paths as `<path>`, URLs as
    `<url>`; anything else (messages, numbers, ids, names, patterns, `$(...)`) is dropped."""
    text = word.text
    if text in (".", "..", "-", "--"):
        return text
    if re.match(r"^[a-z][a-z0-9+.-]*://", text):
        return "<url>"
    if _is_path(word):
        return "<path>"
    return None


def _mask_flag(text: str) -> str:
    """`--status=done` -> `--status`, `-n5` -> `-n`, `-20` -> `-<n>`; short letter clusters (`-la`, `-xvf`)
    stay, longer ones keep their first letter: `-pS3cret` (a value glued to its flag) must not leak."""
    if text.startswith("--"):
        return text.split("=", 1)[0]
    if _NUMBER.match(text[1:]):
        return "-<n>"
    if len(text) > 2 and not (text[1:].isalpha() and len(text) <= 5):
        return text[:2]
    return text


def _strip_prefixes(words: list[Word]) -> list[Word]:
    """Drop environment assignments and wrappers (`FOO=1 sudo -E env X=2 nohup cmd` -> `cmd`)."""
    i = 0
    while i < len(words):
        text = words[i].text
        if _ASSIGNMENT.match(text) and not words[i].quoted:
            i += 1
        elif text in WRAPPERS and i + 1 < len(words):
            wrapper, i = text, i + 1
            while i < len(words) and words[i].text.startswith("-"):
                i += 2 if words[i].text in WRAPPER_VALUE_FLAGS.get(wrapper, ()) else 1
        elif text == "timeout" and i + 1 < len(words):
            i += 1
            while i < len(words) and words[i].text.startswith("-"):
                i += 1
            i += 1  # the duration
        else:
            break
    return words[i:]


def _arguments(program: str, words: list[Word]) -> list[str]:
    shown: list[str] = []
    pattern_pending = program in PATTERN_FIRST
    after_double_dash = False
    for word in words:
        text = word.text
        if not text:
            continue  # `sed -i '' ...` (BSD sed's empty backup suffix)
        if text == "--" and not after_double_dash:
            after_double_dash = True
            shown.append("--")
        elif text.startswith("-") and len(text) > 1 and not word.expanded:
            shown.append(_mask_flag(text))
            if program in ("sed", "perl") and text in ("-e", "--expression"):
                pattern_pending = True
        elif pattern_pending:
            pattern_pending = False
        else:
            masked = _mask_argument(word)
            if masked is not None:
                shown.append(masked)
    deduped: list[str] = []
    for item in shown:  # `git add a.py b.py c.py` reads as one `<path>`; repeated flags once
        if item not in deduped or item == "--":
            deduped.append(item)
    return deduped


def _command_action(words: list[Word], depth: int = 0) -> str | None:
    """One simple command as `program [subcommands] [flags and masked arguments]`."""
    words = _strip_prefixes(words)
    if not words:
        return None
    first = words[0].text
    if first in KEYWORD_PREFIXES and len(words) > 1:
        return _command_action(words[1:], depth)
    if first in KEYWORD_ALONE:
        return None
    if first in ("for", "select", "case", "function"):
        return first
    if words[0].expanded:
        return "<expansion>"
    program = _program_name(first)
    rest = words[1:]
    if program in SHELLS and depth < 3:  # `bash -lc "npm test"`: the action is the inner command's
        for index, word in enumerate(rest):
            if word.text.startswith("-") and "c" in word.text[1:] and index + 1 < len(rest):
                return shell_action(rest[index + 1].text, depth + 1)
    if program == "python" or program == "node":
        for index, word in enumerate(rest):
            if word.text == "-m" and index + 1 < len(rest):
                inner = _command_action(rest[index + 1 :], depth + 1) or rest[index + 1].text
                return f"{program} -m {inner}"
            if not word.text.startswith("-"):
                break
    head = [program]
    global_flags = GLOBAL_VALUE_FLAGS.get(program, set())
    known = program in SUBCOMMAND_DEPTH
    wanted = SUBCOMMAND_DEPTH.get(program, 1 if program not in PLAIN_PROGRAMS else 0)
    while wanted and rest:
        word = rest[0]
        if known and word.text in global_flags:
            rest = rest[2:]
            continue
        if known and word.text.startswith("-"):
            rest = rest[1:]  # other global options before the subcommand say little
            continue
        pattern = _KNOWN_SUBCOMMAND if known else _SUBCOMMAND
        if not pattern.match(word.text) or word.expanded:
            break
        head.append(word.text)
        rest = rest[1:]
        wanted -= 1
        if (program, word.text) in NESTED_SUBCOMMANDS and rest and _SUBCOMMAND.match(rest[0].text):
            head.append(rest[0].text)
            rest = rest[1:]
        if tuple(head) in RUNNERS:
            break
    if tuple(head) in RUNNERS or (program in ("npx", "bunx", "uvx") and len(head) == 1):
        while rest and rest[0].text.startswith("-"):
            rest = rest[1:]
        inner = _command_action(rest, depth + 1) if rest and depth < 3 else None
        return " ".join(head + ([inner] if inner else []))
    return " ".join(head + _arguments(program, rest))


def shell_action(command: str | list[str], depth: int = 0) -> str | None:
    """The action of a shell command line (or argv list); None when it holds no command.

    Rules, in order: here-document bodies and redirections (`2>&1`, `> out`) are dropped; the line is split
    at `&&`, `||`, `;`, newlines, `|` and `&`; `cd`/`export`/`set` parts are dropped when other parts
    remain; per part, environment assignments and wrappers (`sudo`, `env`, `time`, `nohup`, `timeout N`)
    are stripped, `bash -c "..."` is replaced by its inner command, and what is left becomes `program`
    (basename, `python3.11` -> `python`), its subcommands (`git commit`, `npm run build`, `gh pr create`,
    the first plain word of an unknown program), the command a runner runs (`uv run pytest`, `npx jest`,
    `python -m pytest`), its flags (values dropped: `--limit=5` -> `--limit`, `-n5` -> `-n`, `-20` ->
    `-<n>`), `--`, `.`/`..` as written, `<path>` for paths and `<url>` for URLs; other arguments
    (messages, names, ids, patterns, expansions) are dropped and repeats collapse. Parts are joined by
    the operator between them (` && `, ` || `, ` | `, ` ; `, ` & `), at most 8 parts and 200 characters.
    """
    if isinstance(command, list):
        words = [str(part) for part in command]
        if (
            len(words) >= 3
            and _program_name(words[0]) in SHELLS
            and words[1].startswith("-")
            and "c" in words[1]
        ):
            return shell_action(words[2], depth + 1)
        command = " ".join(_quote(word) for word in words)
    commands = split_commands(command)
    parts: list[tuple[str, str | None]] = []
    for simple in commands:
        part = _command_action(simple.words, depth)
        if part is None:
            continue
        operator = simple.joined_by if parts else None
        parts.append((part, operator))
    programs = [p.split(" ", 1)[0] for p, _ in parts]
    if any(p not in DROPPED_WHEN_NOT_ALONE for p in programs):
        parts = [
            (p, op)
            for (p, op), program in zip(parts, programs, strict=True)
            if program not in DROPPED_WHEN_NOT_ALONE
        ]
    if not parts:
        return None
    text = parts[0][0]
    for part, operator in parts[1:MAX_PARTS]:
        text += f" {operator or ';'} {part}"
    if len(parts) > MAX_PARTS:
        text += " ; ..."
    return text[:ACTION_CHARS]


def _quote(word: str) -> str:
    return "'" + word.replace("'", "'\\''") + "'" if not word or re.search(r"[^\w@%+=:,./-]", word) else word


def file_kind(path: str) -> str:
    """`src/app.py` -> `*.py`; well-known names (`package.json`, `Makefile`) as they are; else `<file>`."""
    name = (PureWindowsPath(path) if "\\" in path else PurePosixPath(path)).name
    if name in WELL_KNOWN_FILES:
        return name
    suffix = _FILE_SUFFIX.search(name)
    return f"*{suffix.group(0).lower()}" if suffix and suffix.start() > 0 else "<file>"


def _decode_input(raw: Any) -> Any:
    """Tool input as stored (JSON text), decoded; some formats store the arguments as a JSON string inside."""
    value = raw
    for _ in range(2):
        if not isinstance(value, str | bytes):
            break
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            break
    return value


def _command_of(value: Any) -> str | list[str] | None:
    if not isinstance(value, dict):
        return None
    nested = value.get("action")  # Codex local_shell: {"type": "exec", "command": [...]}
    if isinstance(nested, dict) and "command" in nested:
        value = nested
    for key in SHELL_KEYS:
        command = value.get(key)
        if isinstance(command, str) and command.strip():
            return command
        if isinstance(command, list) and command and all(isinstance(p, str) for p in command):
            return command
    return None


def action_of(tool: str | None, raw_input: Any) -> str | None:
    """The action of one tool call from its tool name and input (JSON text or decoded); see the module doc."""
    if not tool:
        return None
    value = _decode_input(raw_input)
    if isinstance(value, dict) and not value.keys() & {*SHELL_KEYS, "file_path", "path", "notebook_path"}:
        for key in ARGUMENT_WRAPPERS:  # OTel GenAI spans: {"call_id": ..., "arguments": {...}}
            if key in value:
                value = _decode_input(value[key])
                break
    if isinstance(value, dict):
        path = value.get("file_path") or value.get("notebook_path") or value.get("path")
        editor_command = value.get("command")
        if isinstance(editor_command, str) and editor_command in EDITOR_COMMANDS and isinstance(path, str):
            return f"{tool} {editor_command} {file_kind(path)}"
        if isinstance(path, str) and (tool in FILE_TOOLS or "file_path" in value):
            return f"{tool} {file_kind(path)}"
        command = _command_of(value)
        if command is not None:
            return shell_action(command) or tool
    if isinstance(value, str) and (tool == "apply_patch" or value.startswith("*** Begin Patch")):
        kinds = list(dict.fromkeys(file_kind(p.strip()) for p in _PATCH_FILE.findall(value)))
        return " ".join([tool, *sorted(kinds)[:3]])
    return tool


def action_parts(action: str) -> list[str]:
    """The simple-command parts of an action, in order (`a && b | c` -> `[a, b, c]`)."""
    pattern = "|".join(re.escape(sep) for sep in PART_SEPARATORS)
    return [part for part in re.split(pattern, action) if part]


@lru_cache(maxsize=65536)
def _cached_action(tool: str | None, raw_input: str | None) -> str | None:
    try:
        return action_of(tool, raw_input)
    except RecursionError:  # pathological nesting in untrusted text: fall back to the tool name
        return tool


def actions_for(calls: Iterable[tuple[str | None, str | None]]) -> list[str | None]:
    """Actions for many (tool, input JSON) pairs; repeated calls are computed once."""
    return [_cached_action(tool, raw) for tool, raw in calls]


def add_actions(events: pl.DataFrame) -> pl.DataFrame:
    """`events` with its `action` column filled: tool calls from (tool, input), tool results from the call
    they answer (same session, `parent_event_id`); every other event gets null."""
    calls = events.filter(pl.col("type") == "tool_call").select("session_id", "event_id", "tool", "input")
    actions = actions_for(zip(calls["tool"].to_list(), calls["input"].to_list(), strict=True))
    by_call = (
        calls.select("session_id", "event_id")
        .with_columns(pl.Series("_action", actions, dtype=pl.String))
        .unique(["session_id", "event_id"], keep="first")
    )
    result_key = pl.when(pl.col("type") == "tool_result").then(pl.col("parent_event_id"))
    key = pl.when(pl.col("type") == "tool_call").then(pl.col("event_id")).otherwise(result_key)
    frame = events.drop("action", strict=False).with_columns(key.alias("_call_id"))
    joined = frame.join(
        by_call.rename({"event_id": "_call_id"}),
        on=["session_id", "_call_id"],
        how="left",
        maintain_order="left",
    )
    return joined.rename({"_action": "action"}).drop("_call_id")
