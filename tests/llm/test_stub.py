"""The real anthropic SDK against the local Messages API stub: what Claude-backed code relies on."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anthropic
import pytest
from anthropic.types import Message

from pipeline.llm import LLMSettings, make_client, text_of, tool_uses
from tests.support.messages_stub import MessagesStub
from tests.support.messages_wire import estimate_tokens

MODEL = "claude-sonnet-4-5"
SET_PARAMETER_TOOL = {
    "name": "set_parameter",
    "description": "Choose one mission parameter.",
    "input_schema": {
        "type": "object",
        "properties": {"parameter": {"type": "string"}, "value": {"type": "number"}},
        "required": ["parameter", "value"],
    },
}


def ask(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def tool_calling_responder(body: dict[str, Any]) -> dict[str, Any]:
    """Calls the tool on the first turn, then acknowledges the tool result in prose."""
    last_content = body["messages"][-1]["content"]
    if isinstance(last_content, list) and last_content[0]["type"] == "tool_result":
        return {"content": [{"type": "text", "text": f"noted {last_content[0]['content']}"}]}
    call = {
        "type": "tool_use",
        "name": "set_parameter",
        "input": {"parameter": "guidance.gain", "value": 0.7},
    }
    return {"content": [{"type": "text", "text": "Setting the gain."}, call], "stop_reason": "tool_use"}


@pytest.fixture
def stub() -> Iterator[MessagesStub]:
    with MessagesStub(tool_calling_responder) as running:
        yield running


@pytest.fixture
def client(stub: MessagesStub) -> anthropic.Anthropic:
    return make_client(LLMSettings(api_key="test", base_url=stub.url, max_retries=0))


def raw_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """A request the SDK would never send (it always adds key and version), to see the API's own checks."""
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_plain_message_is_parsed_by_the_sdk_and_recorded() -> None:
    with MessagesStub(lambda body: "Wind is strong; favour a low descent rate.") as stub:
        client = make_client(LLMSettings(api_key="test", base_url=stub.url))
        message = client.messages.create(
            model=MODEL, max_tokens=200, system="You are the flight director.", messages=ask("Brief me.")
        )
    assert isinstance(message, Message)
    assert text_of(message) == "Wind is strong; favour a low descent rate."
    assert message.model == MODEL and message.stop_reason == "end_turn" and message.role == "assistant"
    assert message.usage.output_tokens == estimate_tokens("Wind is strong; favour a low descent rate.")
    assert message.usage.input_tokens == estimate_tokens("You are the flight director.") + estimate_tokens(
        "Brief me."
    )
    assert stub.n_calls == 1
    assert stub.total_input_tokens == message.usage.input_tokens
    assert stub.total_output_tokens == message.usage.output_tokens
    [(path, body)] = stub.requests
    assert path == "/v1/messages" and body["system"] == "You are the flight director."


def test_default_responder_answers_with_text() -> None:
    with MessagesStub() as stub:
        client = make_client(LLMSettings(api_key="test", base_url=stub.url))
        message = client.messages.create(model=MODEL, max_tokens=10, messages=ask("ping"))
    assert text_of(message)


def test_tool_use_round_trip(stub: MessagesStub, client: anthropic.Anthropic) -> None:
    first = client.messages.create(
        model=MODEL, max_tokens=200, tools=[SET_PARAMETER_TOOL], messages=ask("Go.")
    )
    assert first.stop_reason == "tool_use"
    [call] = tool_uses(first)
    assert call.name == "set_parameter"
    assert call.input == {"parameter": "guidance.gain", "value": 0.7}
    assert call.id.startswith("toolu_")

    followup = [
        *ask("Go."),
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "ok"}]},
    ]
    second = client.messages.create(
        model=MODEL, max_tokens=200, tools=[SET_PARAMETER_TOOL], messages=followup
    )
    assert text_of(second) == "noted ok"
    assert tool_uses(second) == []
    assert stub.requests[1][1]["tools"][0]["name"] == "set_parameter"


def test_count_tokens_counts_system_messages_and_tools_without_creating_a_message(
    stub: MessagesStub, client: anthropic.Anthropic
) -> None:
    bare = client.messages.count_tokens(model=MODEL, messages=ask("Brief me."))
    with_context = client.messages.count_tokens(
        model=MODEL,
        system="You are the flight director.",
        tools=[SET_PARAMETER_TOOL],
        messages=ask("Brief me."),
    )
    assert bare.input_tokens == estimate_tokens("Brief me.")
    assert with_context.input_tokens > bare.input_tokens + estimate_tokens("You are the flight director.")
    assert stub.n_calls == 0 and stub.total_input_tokens == 0


def test_batches_create_retrieve_and_results(stub: MessagesStub, client: anthropic.Anthropic) -> None:
    requests = [
        {"custom_id": "mission-1", "params": {"model": MODEL, "max_tokens": 50, "messages": ask("one")}},
        {"custom_id": "mission-2", "params": {"model": MODEL, "max_tokens": 50, "messages": ask("two")}},
        {"custom_id": "broken", "params": {"model": MODEL, "messages": ask("no max_tokens")}},
    ]
    created = client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
    assert created.type == "message_batch" and created.id.startswith("msgbatch_")
    assert created.processing_status == "in_progress" and created.results_url is None

    ended = client.messages.batches.retrieve(created.id)
    assert ended.processing_status == "ended" and ended.ended_at is not None
    assert (ended.request_counts.succeeded, ended.request_counts.errored) == (2, 1)
    assert ended.request_counts.processing == 0

    results = {line.custom_id: line.result for line in client.messages.batches.results(created.id)}
    assert set(results) == {"mission-1", "mission-2", "broken"}
    assert results["mission-1"].type == "succeeded"
    assert tool_uses(results["mission-1"].message)[0].input["parameter"] == "guidance.gain"
    assert results["broken"].type == "errored"
    assert results["broken"].error.error.type == "invalid_request_error"
    assert stub.n_calls == 2
    assert [batch.id for batch in client.messages.batches.list()] == [created.id]


def test_unknown_batch_is_not_found(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve("msgbatch_missing")


def test_missing_api_key_is_401_with_the_api_error_shape(stub: MessagesStub) -> None:
    body = json.dumps({"model": MODEL, "max_tokens": 5, "messages": ask("hi")}).encode()
    status, error = raw_post(f"{stub.url}/v1/messages", body, {"anthropic-version": "2023-06-01"})
    assert status == 401
    assert error["type"] == "error" and error["error"]["type"] == "authentication_error"

    keyless = anthropic.Anthropic(
        api_key="unused",
        base_url=stub.url,
        max_retries=0,
        default_headers={"X-Api-Key": anthropic.omit, "Authorization": anthropic.omit},
    )
    with pytest.raises(anthropic.AuthenticationError):
        keyless.messages.create(model=MODEL, max_tokens=5, messages=ask("hi"))
    assert stub.n_calls == 0


def test_missing_version_header_and_malformed_json_are_400(stub: MessagesStub) -> None:
    body = json.dumps({"model": MODEL, "max_tokens": 5, "messages": ask("hi")}).encode()
    status, error = raw_post(f"{stub.url}/v1/messages", body, {"x-api-key": "test"})
    assert status == 400 and "anthropic-version" in error["error"]["message"]

    headers = {"x-api-key": "test", "anthropic-version": "2023-06-01"}
    status, error = raw_post(f"{stub.url}/v1/messages", b"{not json", headers)
    assert status == 400 and error["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"model": MODEL, "messages": ask("hi")}, "max_tokens"),
        ({"max_tokens": 5, "messages": ask("hi")}, "model"),
        ({"model": MODEL, "max_tokens": 5, "messages": []}, "messages"),
        ({"model": MODEL, "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "role"),
    ],
)
def test_invalid_bodies_surface_as_bad_request(
    stub: MessagesStub, client: anthropic.Anthropic, body: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.post("/v1/messages", body=body, cast_to=Message)
    assert raised.value.status_code == 400
    assert complaint in raised.value.message
    assert stub.n_calls == 0


def test_sdk_retries_an_overloaded_api_and_succeeds() -> None:
    with MessagesStub(lambda body: "landed", fail_first=1) as stub:
        client = make_client(LLMSettings(api_key="test", base_url=stub.url, max_retries=1))
        message = client.messages.create(model=MODEL, max_tokens=10, messages=ask("hi"))
    assert text_of(message) == "landed"
    assert [path for path, _ in stub.requests] == ["/v1/messages", "/v1/messages"]
    assert stub.n_calls == 1


def test_overload_beyond_the_retry_budget_raises() -> None:
    with MessagesStub(fail_first=2) as stub:
        client = make_client(LLMSettings(api_key="test", base_url=stub.url, max_retries=1))
        with pytest.raises(anthropic.OverloadedError):
            client.messages.create(model=MODEL, max_tokens=10, messages=ask("hi"))
    assert stub.n_calls == 0


def test_responder_failure_is_an_api_error_not_a_hang() -> None:
    def broken(body: dict[str, Any]) -> dict[str, Any]:
        raise ValueError("responder bug")

    with MessagesStub(broken) as stub:
        client = make_client(LLMSettings(api_key="test", base_url=stub.url, max_retries=0))
        with pytest.raises(anthropic.InternalServerError, match="responder bug"):
            client.messages.create(model=MODEL, max_tokens=10, messages=ask("hi"))


def test_streaming_rebuilds_the_same_message(stub: MessagesStub, client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model=MODEL, max_tokens=200, tools=[SET_PARAMETER_TOOL], messages=ask("Go.")
    ) as stream:
        streamed_text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert streamed_text == "Setting the gain."
    assert text_of(final) == "Setting the gain."
    assert tool_uses(final)[0].input == {"parameter": "guidance.gain", "value": 0.7}
    assert final.stop_reason == "tool_use"
    assert final.usage.output_tokens == stub.total_output_tokens > 1
    assert stub.requests[0][1]["stream"] is True


def test_cache_control_writes_then_reads_the_cached_prefix(
    stub: MessagesStub, client: anthropic.Anthropic
) -> None:
    playbook = "Rule: keep descent under 0.5 m/s when wind_power > 15. " * 20
    system = [{"type": "text", "text": playbook, "cache_control": {"type": "ephemeral"}}]

    first = client.messages.create(model=MODEL, max_tokens=50, system=system, messages=ask("mission 1"))
    second = client.messages.create(model=MODEL, max_tokens=50, system=system, messages=ask("mission 2"))

    assert first.usage.cache_creation_input_tokens == estimate_tokens(playbook)
    assert first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_read_input_tokens == estimate_tokens(playbook)
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.input_tokens == estimate_tokens("mission 2")
    assert stub.total_cache_read_tokens == estimate_tokens(playbook)


def test_cache_misses_when_the_prefix_before_the_breakpoint_changes(
    stub: MessagesStub, client: anthropic.Anthropic
) -> None:
    system = [{"type": "text", "text": "Shared playbook text. " * 10, "cache_control": {"type": "ephemeral"}}]
    client.messages.create(model=MODEL, max_tokens=50, system=system, messages=ask("a"))
    other_tool = {**SET_PARAMETER_TOOL, "name": "abort_mission"}
    changed = client.messages.create(
        model=MODEL, max_tokens=50, tools=[other_tool], system=system, messages=ask("a")
    )
    assert changed.usage.cache_read_input_tokens == 0
    assert changed.usage.cache_creation_input_tokens > 0


def test_count_tokens_does_not_warm_the_cache(stub: MessagesStub, client: anthropic.Anthropic) -> None:
    system = [{"type": "text", "text": "Cached briefing. " * 10, "cache_control": {"type": "ephemeral"}}]
    client.messages.count_tokens(model=MODEL, system=system, messages=ask("a"))
    message = client.messages.create(model=MODEL, max_tokens=50, system=system, messages=ask("a"))
    assert message.usage.cache_read_input_tokens == 0


def test_reply_longer_than_max_tokens_is_cut_and_flagged() -> None:
    long_answer = "The descent must stay slow near the pad. " * 20
    with MessagesStub(lambda body: long_answer) as stub:
        client = make_client(LLMSettings(api_key="test", base_url=stub.url))
        cut = client.messages.create(model=MODEL, max_tokens=10, messages=ask("hi"))
        whole = client.messages.create(model=MODEL, max_tokens=1000, messages=ask("hi"))
    assert cut.stop_reason == "max_tokens"
    assert cut.usage.output_tokens <= 10
    assert long_answer.startswith(text_of(cut)) and len(text_of(cut)) < len(long_answer)
    assert whole.stop_reason == "end_turn" and text_of(whole) == long_answer


def test_tool_call_that_does_not_fit_max_tokens_is_dropped(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=MODEL, max_tokens=6, tools=[SET_PARAMETER_TOOL], messages=ask("Go.")
    )
    assert message.stop_reason == "max_tokens"
    assert tool_uses(message) == []


def test_concurrent_calls_are_all_answered_and_counted(
    stub: MessagesStub, client: anthropic.Anthropic
) -> None:
    def one_call(index: int) -> str:
        reply = client.messages.create(model=MODEL, max_tokens=100, messages=ask(f"mission {index}"))
        return text_of(reply)

    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(one_call, range(24)))
    assert replies == ["Setting the gain."] * 24
    assert stub.n_calls == 24 and len(stub.requests) == 24
    assert stub.total_input_tokens == sum(estimate_tokens(f"mission {index}") for index in range(24))
