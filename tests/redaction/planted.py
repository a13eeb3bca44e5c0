"""A corpus of planted secrets, written in every supported log format, for tests and the redaction benchmark.

The secrets are fake but shaped exactly like real ones (lengths, prefixes, checksums where the format has
none). Each appears inside ordinary sentences so a test can check both that the secret is gone and that the
words around it survived.
"""

from __future__ import annotations

import json
from pathlib import Path

# label -> (secret, the sentence an agent might plausibly write or read with the secret inside it). A label is
# the marker kind the secret is redacted as, unless `KINDS` says otherwise.
PLANTED: dict[str, tuple[str, str]] = {
    "anthropic_key": (
        "sk-ant-api03-Zq8Xw2Lr5Tn9Vb3Mk7Pc1Hd6Fg4Js0Ay2Qe8Wu5Ri9To3Yp7-Ls1Nk4Bm6Cv",
        "export ANTHROPIC_API_KEY={}",
    ),
    "openai_key": ("sk-proj-Hq3Lz8Wn5Rt2Yv9Mb6Kc1Pd4Gf7Js0Ax3Qe8Wu5Ri2To9", "client = OpenAI(api_key='{}')"),
    "aws_access_key": ("AKIAZ7QW3ER5TY2UI4OP", "the access key id is {} in us-east-1"),
    "aws_secret_key": ("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", "aws_secret_access_key = {}"),
    "github_token": (
        "ghp_Q7w2E9r4T1y6U3i8O5p0A2s7D4f9G1h6J3k8",
        "git clone https://{}@github.com/acme/app.git",
    ),
    "gitlab_token": (
        "glpat-Zx8Cv3Bn6Mq1Wr4Ty7Ui0O",
        "curl --header 'PRIVATE-TOKEN: {}' https://gitlab.example.com",
    ),
    "slack_token": (
        "xoxb-2837465019283-4756382910473-Qw8Er3Ty6Ui9Op2As5Df7Gh1J",
        "SLACK_BOT={} posts the alerts",
    ),
    "jwt": (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyZXZlcmllLXRlc3QiLCJpYXQiOjE3MDAwMDAwMDB9."
        "c2lnbmF0dXJlLXRoYXQtaXMtbm90LXJlYWwtYnV0LWxvb2tzLWl0",
        "the session cookie was {} until it expired",
    ),
    "private_key": (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
        "QyNTUxOQAAACDq8Jr2Xw5Lz9Nn3Vb7Mk1Pc6Hd4Fg0Js8Ay2Qe6Wu5RiAAAAJg3Tp7Yv2Ls1N\n"
        "-----END OPENSSH PRIVATE KEY-----",
        "I found this in ~/.ssh/id_ed25519:\n{}\nand left it alone.",
    ),
    "bearer_token": ("a9F3kL7qW2zX8cV5bN1mR4tY6uI0oP3s", "Authorization: Bearer {}"),
    "url_password": ("Tr0ub4dor-and-3", "DATABASE_URL=postgres://reverie:{}@db.internal:5432/lake"),
    "password": ("correct-horse-battery", "the admin password: {} (do not share)"),
    "secret_assignment": ("q7Wz3Lx9Vb2Nm5Kc8Pd1Hf4Gj6", "STRIPE_WEBHOOK_SECRET={}"),
    "github_fine_grained": (
        "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",
        "GH_TOKEN={} gh pr list",
    ),
    "stripe_key": (
        "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",
        "stripe.api_key = '{}'",
    ),
    "stripe_restricted": (
        "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",
        "the restricted key {} can only read charges",
    ),
    "stripe_test": (
        "sk_test_51MyscwigxFCL4LBcwIsi9Zduk54IVi5a5p63RjfE7xewqZ0ndTpQ07pHY6WCmKzNd1J5dhNi8IWZxIztj9Itqfxd7bkUagHTr3",
        "curl https://api.stripe.com/v1/charges -u {}:",
    ),
    "google_api_key": (
        "AIzalQ2uLfomNZX8XItt5MadHJQCFV1u90Ht77y",
        "maps.googleapis.com/maps/api/js?key={} loaded",
    ),
    "npm_token": ("npm_XyTE1mbK5cE0GligaLitf45FKHU1dnTV6PSB", "//registry.npmjs.org/:_authToken={}"),
    "huggingface_token": ("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", "huggingface-cli login --token {} done"),
    "sendgrid_key": (
        "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",
        "the mailer reads {} from its settings",
    ),
    "client_secret_value": ("bkSlddoBK4lQXTASfZF2Gjhd", "export CLIENT_SECRET_VALUE={}"),
    "basic_auth": ("YWRtaW46aHVudGVyMi1zM2NyZXQ=", "Authorization: Basic {}"),
}
KINDS: dict[str, str] = {
    label: {
        "github_fine_grained": "github_token",
        "stripe_restricted": "stripe_key",
        "stripe_test": "stripe_key",
        "client_secret_value": "secret_assignment",
    }.get(label, label)
    for label in PLANTED
}

SENTENCES = {kind: template.format(secret) for kind, (secret, template) in PLANTED.items()}
SECRETS = [secret for secret, _ in PLANTED.values()]
CANARY = "the landing burn began at 40 metres"  # ordinary text that must survive untouched


def _text(kind: str) -> str:
    return f"{CANARY}; {SENTENCES[kind]}"


def write_corpus(folder: Path, copies: int = 1) -> list[Path]:
    """One file per format (times `copies`), every planted secret in message text and in tool arguments."""
    folder.mkdir(parents=True, exist_ok=True)
    kinds = list(PLANTED)
    written = []
    for copy in range(copies):
        for name, build in _BUILDERS.items():
            path = folder / f"{copy:04d}-{name}"
            path.write_text(build(kinds, copy))
            written.append(path)
    return written


def _anthropic(kinds: list[str], copy: int) -> str:
    messages = []
    for index, kind in enumerate(kinds):
        call_id = f"toolu_{copy:04d}{index:04d}"
        messages.append({"role": "user", "content": _text(kind)})
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": _text(kind)},
                    {
                        "type": "tool_use",
                        "id": call_id,
                        "name": "bash",
                        "input": {"command": SENTENCES[kind]},
                    },
                ],
            }
        )
        messages.append(
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call_id, "content": _text(kind)}],
            }
        )
    return json.dumps({"model": "claude-sonnet-4-5", "messages": messages})


def _agent_sdk(kinds: list[str], copy: int) -> str:
    session = f"sdk-session-{copy}"
    lines = [
        {
            "type": "system",
            "subtype": "init",
            "session_id": session,
            "model": "claude-sonnet-4-5",
            "tools": [],
        }
    ]
    for index, kind in enumerate(kinds):
        lines.append(
            {
                "type": "assistant",
                "session_id": session,
                "message": {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": _text(kind)},
                        {
                            "type": "tool_use",
                            "id": f"tu_{index}",
                            "name": "Bash",
                            "input": {"command": SENTENCES[kind]},
                        },
                    ],
                },
            }
        )
        lines.append(
            {
                "type": "user",
                "session_id": session,
                "message": {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": f"tu_{index}", "content": _text(kind)}
                    ],
                },
            }
        )
    lines.append(
        {
            "type": "result",
            "subtype": "success",
            "session_id": session,
            "is_error": False,
            "num_turns": 3,
            "total_cost_usd": 0.01,
            "usage": {"input_tokens": 10, "output_tokens": 5},
            "result": _text(kinds[0]),
        }
    )
    return "\n".join(json.dumps(line) for line in lines) + "\n"


def _codex(kinds: list[str], copy: int) -> str:
    def line(second: int, kind: str, payload: dict) -> str:
        return json.dumps(
            {
                "timestamp": f"2026-03-0{1 + copy % 9}T10:00:{second:02d}.000Z",
                "type": kind,
                "payload": payload,
            }
        )

    lines = [
        line(0, "session_meta", {"id": f"codex-planted-{copy}", "cwd": "/work", "cli_version": "0.129.0"})
    ]
    for index, kind in enumerate(kinds):
        call = f"call_{index}"
        lines.append(
            line(
                1,
                "response_item",
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": _text(kind)}]},
            )
        )
        lines.append(
            line(
                2,
                "response_item",
                {
                    "type": "function_call",
                    "name": "exec_command",
                    "call_id": call,
                    "arguments": json.dumps({"cmd": SENTENCES[kind]}),
                },
            )
        )
        lines.append(
            line(3, "response_item", {"type": "function_call_output", "call_id": call, "output": _text(kind)})
        )
        lines.append(line(4, "event_msg", {"type": "agent_message", "message": _text(kind)}))
    return "\n".join(lines) + "\n"


def _openai_agents(kinds: list[str], copy: int) -> str:
    trace = f"trace_planted_{copy}"
    spans = [
        {
            "object": "trace.span",
            "id": "root",
            "trace_id": trace,
            "parent_id": None,
            "started_at": "2026-03-01T10:00:00Z",
            "ended_at": "2026-03-01T10:01:00Z",
            "span_data": {"type": "agent", "name": "ops"},
            "error": None,
        }
    ]
    for index, kind in enumerate(kinds):
        spans.append(
            {
                "object": "trace.span",
                "id": f"fn{index}",
                "trace_id": trace,
                "parent_id": "root",
                "started_at": f"2026-03-01T10:00:{index:02d}Z",
                "ended_at": f"2026-03-01T10:00:{index:02d}.5Z",
                "span_data": {
                    "type": "function",
                    "name": "shell",
                    "input": json.dumps({"cmd": SENTENCES[kind]}),
                    "output": _text(kind),
                },
                "error": {"message": _text(kind)} if index % 4 == 0 else None,
            }
        )
    return json.dumps({"object": "trace", "id": trace, "workflow_name": "ops", "spans": spans})


def _otel(kinds: list[str], copy: int) -> str:
    def attribute(key: str, value: str | int) -> dict:
        return {
            "key": key,
            "value": {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value},
        }

    trace = f"{copy:032x}"
    spans = [
        {
            "traceId": trace,
            "spanId": "a" * 16,
            "name": "invoke_agent ops",
            "startTimeUnixNano": "1772359200000000000",
            "endTimeUnixNano": "1772359260000000000",
            "attributes": [
                attribute("gen_ai.operation.name", "invoke_agent"),
                attribute("gen_ai.agent.name", "ops"),
            ],
        }
    ]
    for index, kind in enumerate(kinds):
        start = 1772359200000000000 + (index + 1) * 1_000_000_000
        spans.append(
            {
                "traceId": trace,
                "spanId": f"{index + 1:016x}",
                "parentSpanId": "a" * 16,
                "name": "chat gpt-5",
                "startTimeUnixNano": str(start),
                "endTimeUnixNano": str(start + 400_000_000),
                "attributes": [
                    attribute("gen_ai.operation.name", "chat"),
                    attribute("gen_ai.usage.input_tokens", 12),
                    attribute(
                        "gen_ai.input.messages",
                        json.dumps([{"role": "user", "parts": [{"type": "text", "content": _text(kind)}]}]),
                    ),
                    attribute(
                        "gen_ai.output.messages",
                        json.dumps(
                            [{"role": "assistant", "parts": [{"type": "text", "content": _text(kind)}]}]
                        ),
                    ),
                ],
            }
        )
        spans.append(
            {
                "traceId": trace,
                "spanId": f"{index + 100:016x}",
                "parentSpanId": "a" * 16,
                "name": "execute_tool shell",
                "startTimeUnixNano": str(start + 500_000_000),
                "endTimeUnixNano": str(start + 600_000_000),
                "attributes": [
                    attribute("gen_ai.operation.name", "execute_tool"),
                    attribute("gen_ai.tool.name", "shell"),
                    attribute("gen_ai.tool.call.arguments", json.dumps({"cmd": SENTENCES[kind]})),
                    attribute("gen_ai.tool.call.result", _text(kind)),
                ],
            }
        )
    return json.dumps(
        {
            "resourceSpans": [
                {"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "t"}, "spans": spans}]}
            ]
        }
    )


def _claude_code(kinds: list[str], copy: int) -> str:
    session = f"00000000-0000-4000-8000-{copy:012d}"
    base = {
        "sessionId": session,
        "isSidechain": False,
        "cwd": "/work",
        "version": "2.1.38",
        "userType": "external",
    }
    lines, parent = [], None
    for index, kind in enumerate(kinds):
        tool_id = f"toolu_planted_{copy:04d}_{index:04d}"
        turn = [
            ("user", {"role": "user", "content": _text(kind)}, {}),
            (
                "assistant",
                {
                    "role": "assistant",
                    "id": f"msg_{index}",
                    "content": [{"type": "text", "text": _text(kind)}],
                },
                {},
            ),
            (
                "assistant",
                {
                    "role": "assistant",
                    "id": f"msg_{index}",
                    "content": [
                        {
                            "type": "tool_use",
                            "id": tool_id,
                            "name": "Bash",
                            "input": {"command": SENTENCES[kind]},
                        }
                    ],
                },
                {},
            ),
            (
                "user",
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": _text(kind)}],
                },
                {"toolUseResult": {"stdout": SENTENCES[kind], "interrupted": False}},
            ),
        ]
        for step, (role, message, extra) in enumerate(turn):
            uuid = f"{copy:08d}-{index:04d}-4000-8000-{step:012d}"
            lines.append(
                {
                    **base,
                    "type": role,
                    "uuid": uuid,
                    "parentUuid": parent,
                    "message": message,
                    **extra,
                    "timestamp": f"2026-03-01T10:{index:02d}:{step:02d}.000Z",
                }
            )
            parent = uuid
    return "\n".join(json.dumps(line) for line in lines) + "\n"


_BUILDERS = {
    "anthropic.json": _anthropic,
    "agent-sdk.jsonl": _agent_sdk,
    "rollout.jsonl": _codex,
    "openai-agents.json": _openai_agents,
    "otel.json": _otel,
    "claude-code.jsonl": _claude_code,
}
FORMATS = {
    "anthropic.json": "anthropic-messages",
    "agent-sdk.jsonl": "claude-agent-sdk",
    "rollout.jsonl": "codex",
    "openai-agents.json": "openai-agents",
    "otel.json": "otel-genai",
    "claude-code.jsonl": "claude_code",
}
