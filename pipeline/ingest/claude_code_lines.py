"""The common Claude Code transcript lines as typed msgspec Structs, for the adapter's fast path.

Nearly every line of a transcript is a `user`/`assistant` message, a `progress` tick or a snapshot, in a few
fixed shapes. Decoding those straight into Structs (types checked in C, no dicts for the record itself)
takes a large share of the per-line cost off `pipeline.ingest.claude_code`. Any other line, and any line
these types do not describe exactly, is read by the generic dict path, so the typed path only ever has to
be right about the lines it accepts.

What "accepts" means is chosen so that a line the typed path takes is a line orjson also reads, with the
same values:
- `forbid_unknown_fields`: msgspec skips unknown keys without checking their UTF-8 or whether a number
  fits a double (orjson refuses both), so every key Claude Code 2.1.x writes is declared; a new key sends
  its lines to the generic path (slower, never different);
- scalar keys the adapter does not read are typed too (a `str`, a 64-bit int): decoded, so validated,
  then dropped;
- values copied to the output as they are (`input` of a tool call, `toolUseResult`) and the few nested
  values the adapter does not read are `Any`, walked by `orjson_value`: msgspec keeps integers past 64
  bits exact where orjson reads floats (or refuses the line, past what a float holds);
- fields the adapter reads are typed as narrowly as the generic path needs them (a `str` it would
  `str()` or test for truthiness, a token count within what `as_int` returns unchanged): a value of any
  other type fails the decode and the line goes the generic way, whose rejects and rows stay as they are.
One difference remains, for lines no writer produces: a key written twice whose first value is an integer
of more than 308 digits. Both parsers keep the second value, but orjson refuses the line over the first
(no float holds it) while msgspec has already dropped it unchecked, so the typed path reads the line.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

TokenCount = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
"""A usage count `as_int` keeps as it is: negative ones become None there, larger ones lose precision."""
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""An integer orjson also reads as an int (msgspec would keep larger ones exact, orjson makes them floats)."""
_ORJSON_INTS = (-(2**63), 2**64 - 1)


class ResultPart(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """One element of a `tool_result` block's content list (text or image)."""

    type: str | None = None
    text: str = ""
    source: dict[str, str] | None = None


class Block(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """One content block of a message: the keys of every kind the adapter maps (text, thinking, redacted
    thinking, tool use, tool result, image); a block of another kind is left to the generic path."""

    type: str
    text: str = ""
    thinking: str = ""
    signature: str | None = None
    data: str | None = None  # redacted_thinking
    id: str | None = None
    name: str | None = None
    input: Any = None  # copied to the row: `orjson_value` makes it what orjson reads
    caller: dict[str, str] | None = None
    tool_use_id: str | None = None
    content: str | list[ResultPart | str] | None = None
    is_error: bool | None = None
    source: dict[str, str] | None = None  # image
    cache_control: dict[str, str] | None = None


class Usage(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    input_tokens: TokenCount | None = None
    cache_creation_input_tokens: TokenCount | None = None
    cache_read_input_tokens: TokenCount | None = None
    output_tokens: TokenCount | None = None
    cache_creation: dict[str, Int64] | None = None
    service_tier: str | None = None
    inference_geo: str | None = None
    server_tool_use: dict[str, Int64] | None = None
    thinking_tokens: Int64 | None = None
    iterations: Any = None


class Message(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    role: str | None = None
    content: str | list[Block] | None = None
    model: str | None = None
    id: str | None = None
    usage: Usage | None = None
    type: str | None = None
    stop_reason: str | None = None
    stop_sequence: str | None = None
    context_management: Any = None
    container: Any = None


class Progress(msgspec.Struct, forbid_unknown_fields=True, gc=False, rename="camel"):
    """`data` of a progress line: an inline subagent message (`agent_progress`) or a bookkeeping tick."""

    type: str | None = None
    agent_id: str | None = None
    message: TranscriptLine | None = None
    normalized_messages: Any = None
    prompt: str | None = None
    output: str | None = None
    full_output: str | None = None
    elapsed_time_seconds: Int64 | float | None = None
    total_lines: Int64 | None = None
    timeout_ms: Int64 | None = None
    hook_event: str | None = None
    hook_name: str | None = None
    command: str | None = None
    task_description: str | None = None
    task_type: str | None = None


class TranscriptLine(msgspec.Struct, forbid_unknown_fields=True, gc=False, rename="camel"):
    """One transcript line (or the record an `agent_progress` line nests): the keys of `user`,
    `assistant`, `progress`, snapshot and queue lines. Session-start features keep their line key names
    (`cwd`, `gitBranch`, ...) so that `_CONTEXT_FEATURES` names them for both paths."""

    type: str
    session_id: str | None = None
    uuid: str | None = None
    parent_uuid: str | None = None
    timestamp: str | None = None
    message: Message | None = None
    is_sidechain: bool | None = None
    agent_id: str | None = None
    request_id: str | None = None
    tool_use_result: Any = None  # its scalars are kept: `orjson_value` makes it what orjson reads
    is_meta: bool | None = None
    is_compact_summary: bool | None = None
    cwd: str | None = None
    gitBranch: str | None = None  # line keys as attribute names: `_CONTEXT_FEATURES` reads them
    version: str | None = None
    userType: str | None = None
    permissionMode: str | None = None
    entrypoint: str | None = None
    data: Progress | None = None
    slug: str | None = None
    todos: Any = None
    thinking_metadata: Any = None
    is_visible_in_transcript_only: bool | None = None
    source_tool_assistant_uuid: str | None = msgspec.field(default=None, name="sourceToolAssistantUUID")
    source_tool_use_id: str | None = msgspec.field(default=None, name="sourceToolUseID")
    parent_tool_use_id: str | None = msgspec.field(default=None, name="parentToolUseID")
    tool_use_id: str | None = msgspec.field(default=None, name="toolUseID")
    message_id: str | None = None  # file-history-snapshot
    snapshot: Any = None
    is_snapshot_update: bool | None = None
    operation: str | None = None  # queue-operation
    content: str | None = None


_DECODER = msgspec.json.Decoder(TranscriptLine)


def decode_line(line: bytes) -> TranscriptLine | None:
    """The line as a `TranscriptLine`, or None if it is not one exactly (then the generic path reads it).
    Its `Any` values are what orjson reads, except block `input`s (`orjson_value` them when used)."""
    try:
        decoded = _DECODER.decode(line)
        _orjson_values(decoded)
    except (msgspec.MsgspecError, RecursionError, OverflowError):  # msgspec nests less deep than orjson
        return None
    return decoded


def _orjson_values(line: TranscriptLine) -> None:
    if line.tool_use_result is not None:
        line.tool_use_result = orjson_value(line.tool_use_result)
    for value in (line.todos, line.thinking_metadata, line.snapshot):
        if value is not None:
            orjson_value(value)
    message = line.message
    if message is not None:
        for value in (message.context_management, message.container):
            if value is not None:
                orjson_value(value)
        if message.usage is not None and message.usage.iterations is not None:
            orjson_value(message.usage.iterations)
    progress = line.data
    if progress is not None:
        if progress.normalized_messages is not None:
            orjson_value(progress.normalized_messages)
        if progress.message is not None:
            _orjson_values(progress.message)


def orjson_value(value: Any) -> Any:
    """A value msgspec decoded as `Any`, made what orjson reads for the same JSON: integers outside
    64 bits become floats (in place). Raises OverflowError for one no float holds, a line orjson refuses."""
    kind = type(value)
    if kind is int:
        low, high = _ORJSON_INTS
        return value if low <= value <= high else float(value)
    if kind is dict:
        for key, item in value.items():
            if type(item) in _CONTAINERS_AND_INT:
                value[key] = orjson_value(item)
    elif kind is list:
        for index, item in enumerate(value):
            if type(item) in _CONTAINERS_AND_INT:
                value[index] = orjson_value(item)
    return value


_CONTAINERS_AND_INT = {int, dict, list}
