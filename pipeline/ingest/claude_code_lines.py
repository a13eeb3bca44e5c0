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
- keys the adapter does not read are `Any`: decoded and so validated, then dropped;
- values copied to the output as they are (`input` of a tool call, `toolUseResult`) are `msgspec.Raw` and
  parsed by orjson itself: orjson, unlike msgspec, turns integers past 64 bits into floats;
- fields the adapter reads are typed as narrowly as the generic path needs them (a `str` it would
  `str()` or test for truthiness, a token count within what `as_int` returns unchanged): a value of any
  other type fails the decode and the line goes the generic way, whose rejects and rows stay as they are.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

TokenCount = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
"""A usage count `as_int` keeps as it is: negative ones become None there, larger ones lose precision."""

ABSENT = msgspec.Raw()
"""The `Raw` of a key the line does not have (empty; a present `null` is the four bytes `null`)."""


class ResultPart(msgspec.Struct, forbid_unknown_fields=True):
    """One element of a `tool_result` block's content list (text or image)."""

    type: str | None = None
    text: str = ""
    source: Any = None


class Block(msgspec.Struct, forbid_unknown_fields=True):
    """One content block of a message: the keys of every kind the adapter maps (text, thinking, redacted
    thinking, tool use, tool result, image); a block of another kind is left to the generic path."""

    type: str
    text: str = ""
    thinking: str = ""
    signature: Any = None
    data: Any = None  # redacted_thinking
    id: str | None = None
    name: str | None = None
    input: msgspec.Raw = ABSENT
    caller: Any = None
    tool_use_id: str | None = None
    content: str | list[ResultPart | str] | None = None
    is_error: bool | None = None
    source: Any = None  # image
    cache_control: Any = None


class Usage(msgspec.Struct, forbid_unknown_fields=True):
    input_tokens: TokenCount | None = None
    cache_creation_input_tokens: TokenCount | None = None
    cache_read_input_tokens: TokenCount | None = None
    output_tokens: TokenCount | None = None
    cache_creation: Any = None
    service_tier: Any = None
    inference_geo: Any = None
    server_tool_use: Any = None
    iterations: Any = None


class Message(msgspec.Struct, forbid_unknown_fields=True):
    role: str | None = None
    content: str | list[Block] | None = None
    model: str | None = None
    id: str | None = None
    usage: Usage | None = None
    type: Any = None
    stop_reason: Any = None
    stop_sequence: Any = None
    context_management: Any = None
    container: Any = None


class Progress(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    """`data` of a progress line: an inline subagent message (`agent_progress`) or a bookkeeping tick."""

    type: str | None = None
    agent_id: str | None = None
    message: TranscriptLine | None = None
    normalized_messages: Any = None
    prompt: Any = None
    output: Any = None
    full_output: Any = None
    elapsed_time_seconds: Any = None
    total_lines: Any = None
    timeout_ms: Any = None
    hook_event: Any = None
    hook_name: Any = None
    command: Any = None
    task_description: Any = None
    task_type: Any = None


class TranscriptLine(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
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
    tool_use_result: msgspec.Raw = ABSENT
    is_meta: bool | None = None
    is_compact_summary: bool | None = None
    cwd: str | None = None
    gitBranch: str | None = None  # line keys as attribute names: `_CONTEXT_FEATURES` reads them
    version: str | None = None
    userType: str | None = None
    permissionMode: str | None = None
    entrypoint: str | None = None
    data: Progress | None = None
    slug: Any = None
    todos: Any = None
    thinking_metadata: Any = None
    is_visible_in_transcript_only: Any = None
    source_tool_assistant_uuid: Any = msgspec.field(default=None, name="sourceToolAssistantUUID")
    source_tool_use_id: Any = msgspec.field(default=None, name="sourceToolUseID")
    parent_tool_use_id: Any = msgspec.field(default=None, name="parentToolUseID")
    tool_use_id: Any = msgspec.field(default=None, name="toolUseID")
    message_id: Any = None  # file-history-snapshot
    snapshot: Any = None
    is_snapshot_update: Any = None
    operation: Any = None  # queue-operation
    content: Any = None


_DECODER = msgspec.json.Decoder(TranscriptLine)


def decode_line(line: bytes) -> TranscriptLine | None:
    """The line as a `TranscriptLine`, or None if it is not one exactly (then the generic path reads it)."""
    try:
        return _DECODER.decode(line)
    except (msgspec.MsgspecError, RecursionError):  # msgspec nests less deep than orjson
        return None
