"""Planted secrets in the places besides message text where session logs carry them: file and folder names,
JSON keys, the timestamp of a bad line, a truncated line, error text, tool names, and a secret split over two
content blocks. Together with `planted.write_corpus` (message text, tool input and tool output in every
format) this is the corpus of the whole-home scan."""

from __future__ import annotations

import json
from pathlib import Path

from planted import PLANTED, SENTENCES

# Kinds a bare value of which says what it is; the others (a password, a bearer token's value) are secrets
# only by their context, so those are planted with it (`password: ...`) wherever a bare value would go.
CONTEXTUAL = {"aws_secret_key", "bearer_token", "url_password", "password", "secret_assignment"}
CONTEXTUAL |= {"client_secret_value", "basic_auth"}


def planted_value(label: str) -> str:
    """What a placement holds for `label`: the bare secret, or its sentence when only context makes it one."""
    return SENTENCES[label] if label in CONTEXTUAL else PLANTED[label][0]


SESSION = "00000000-0000-4000-8000-00000000beef"


def _claude_line(uuid: str, parent: str | None, minute: int, message: dict, **extra: object) -> dict:
    return {
        "sessionId": SESSION,
        "type": message["role"],
        "uuid": uuid,
        "parentUuid": parent,
        "cwd": "/work",
        "isSidechain": False,
        "timestamp": f"2026-03-02T10:{minute:02d}:00.000Z",
        "message": message,
        **extra,
    }


def _path_safe(secret: str) -> bool:
    return "/" not in secret and "\n" not in secret and len(secret) < 200


def write_placements(folder: Path) -> list[Path]:
    """Write the placement files under `folder`; returns the files (folders named after secrets included)."""
    written: list[Path] = []
    labels = list(PLANTED)

    # 1. Secrets in folder and file names: one tiny session per name.
    for index, label in enumerate(label for label in labels if _path_safe(planted_value(label))):
        secret = planted_value(label)
        parent = (
            secret if label not in CONTEXTUAL else f"{index:02d}"
        )  # a sentence names a file, not a folder
        path = folder / "by-name" / parent / f"{index:02d}-{secret}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        line = _claude_line(
            f"n{index}", None, index % 60, {"role": "user", "content": f"session number {index}"}
        )
        path.write_text(json.dumps({**line, "sessionId": f"{SESSION[:-4]}{index:04d}"}) + "\n")
        written.append(path)

    # 2. One Claude Code session: JSON keys, tool names, error text, split blocks, bad timestamps, a torn line.
    lines: list[str] = []
    parent = None
    for index, label in enumerate(labels):
        secret = planted_value(label)
        call = f"toolu_placed_{index:04d}"
        bare, template = PLANTED[label]
        before, after = template.split("{}")
        cut = len(bare) // 2
        halves = [
            {"type": "text", "text": f"the first block ends: {before}{bare[:cut]}"},
            {"type": "text", "text": f"{bare[cut:]}{after} and the second goes on"},
        ]
        turn = [
            _claude_line(f"p{index}", parent, index, {"role": "user", "content": halves}),
            _claude_line(
                f"a{index}",
                f"p{index}",
                index,
                {
                    "role": "assistant",
                    "id": f"msg_{index}",
                    "content": [
                        {
                            "type": "tool_use",
                            "id": call,
                            "name": "Bash" if "\n" in secret or len(secret) > 60 else f"run_{secret}",
                            "input": {"command": "env", secret: "the key of this JSON object"},
                        },
                    ],
                },
            ),
            _claude_line(
                f"r{index}",
                f"a{index}",
                index,
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": call,
                            "is_error": True,
                            "content": [
                                {"type": "text", "text": f"Error: authentication failed for {secret}"},
                                *halves,
                            ],
                        }
                    ],
                },
            ),
        ]
        lines += [json.dumps(line) for line in turn]
        parent = f"r{index}"
        bad = _claude_line(f"b{index}", parent, index, {"role": "user", "content": "bad time"})
        lines.append(json.dumps({**bad, "timestamp": secret}))
    torn = {"type": "user", "sessionId": SESSION, "message": {"role": "user", "content": "x"}}
    for label in labels:
        lines.append(json.dumps({**torn, "uuid": f"t-{label}", "note": planted_value(label)})[:-8])
    path = folder / "placed" / "claude-code.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    written.append(path)

    # 3. Native events: secrets as unknown field names (quoted by the reject reason) and as ids.
    native = []
    for index, label in enumerate(labels):
        secret = planted_value(label)
        event = {
            "schema": "reverie.event/v1",
            "session_id": "native-placed",
            "event_id": f"e{index}",
            "ts": f"2026-03-02T11:{index:02d}:00Z",
            "type": "error",
            "content": f"stack trace mentions {secret}",
        }
        native.append(json.dumps({**event, secret: 1}))
        native.append(json.dumps({**event, "event_id": f"id-{secret}"}))
    path = folder / "placed" / "native.jsonl"
    path.write_text("\n".join(native) + "\n")
    written.append(path)
    return written
