"""Structured outputs through servers: the probe, the schema in the request and the key, and
how each answer is read (enforced, violated and asked again, or parsed from free text).

The enforcing server is the real llama.cpp server of the builtin model; the servers that
ignore schemas or break them are scripted OpenAI-compatible servers on 127.0.0.1."""

from __future__ import annotations

import json
import secrets

import pytest

from ditto.errors import DittoError
from ditto.models import BackendConfig, load_model
from ditto.models.calls import complete_until_parsed
from ditto.models.structured import Form, uses_schemas, valid_object
from ditto.store import RunStore, request_key
from ditto.types import ChatRequest, Message, ResponseSchema, SamplingParams
from tests.scripted_server import ScriptedServer


def unlikely_schema() -> tuple[ResponseSchema, str]:
    """An object no model writes unprompted: a random code from a one-value enum, then a level."""
    code = "zq" + secrets.token_hex(5)
    schema = {
        "type": "object",
        "properties": {"code": {"type": "string", "enum": [code]},
                       "level": {"type": "integer", "enum": list(range(1, 11))}},
        "required": ["code", "level"],
        "additionalProperties": False,
    }
    return ResponseSchema.of("unlikely", schema), code


PROMPT = [Message(role="user", content="Tell me about the weather in Paris.")]


def test_the_llama_cpp_server_enforces_a_schema_the_model_would_never_write(llama_server, tmp_path):
    schema, code = unlikely_schema()
    form = Form(from_text=lambda text: None, schema=schema, from_object=lambda value: value)
    params = SamplingParams(max_tokens=48, temperature=0.8, seed=0, n=4)
    model = load_model("builtin", llama_server, BackendConfig(concurrency=2))
    with RunStore(tmp_path) as store:
        assert uses_schemas(model, store)
        [probe] = store.probes()
        assert probe["endpoint"] == llama_server and probe["enforced"] and probe["form"] == "json_object"
        result = complete_until_parsed(model, store, [PROMPT], params, form, max_attempts=1, progress=False)
        values = [slot.value for slot in result.samples[0]]
        assert all(v is not None and v["code"] == code and 1 <= v["level"] <= 10 for v in values)
        assert result.structured.as_dict() == {
            llama_server: {"enforced": 4, "violated": 0, "parsed_from_text": 0, "unparsed": 0}}
        sent = model.stats.sent[llama_server]

        # the same form without its schema is free text: the model writes prose, never the code
        free = complete_until_parsed(model, store, [PROMPT], params, Form(from_text=lambda t: valid_object(t, schema)),
                                     max_attempts=1, progress=False)
        assert all(slot.value is None for slot in free.samples[0])

    # a re-run answers from the store, and reads its answers as enforced ones again
    again = load_model("builtin", llama_server, BackendConfig(concurrency=2))
    with RunStore(tmp_path) as store:
        assert uses_schemas(again, store)
        repeat = complete_until_parsed(again, store, [PROMPT], params, form, max_attempts=1, progress=False)
    assert [s.value for s in repeat.samples[0]] == values
    assert again.stats.sent.get(llama_server, 0) == 0 and sent == 4
    assert repeat.structured.as_dict()[llama_server]["enforced"] == 4


def free_text_server(messages: list[dict], body: dict) -> str:
    return "I would rather tell you a story about the sea."


def test_a_server_that_ignores_schemas_is_probed_and_read_as_free_text(tmp_path, capsys):
    schema, _ = unlikely_schema()
    with ScriptedServer(free_text_server) as server, RunStore(tmp_path) as store:
        model = load_model("scripted", server.base_url)
        assert not uses_schemas(model, store)
        assert "does not enforce JSON schemas" in capsys.readouterr().err
        assert [p["type"] for p in (b["response_format"] for b in server.bodies)] == ["json_schema", "json_object"]
        [probe] = store.probes()
        assert not probe["enforced"] and "json_object: not enforced" in probe["detail"]

        # requests with a schema go out without it, and are read by the text parser
        form = Form(from_text=lambda text: "sea" if "sea" in text else None, schema=schema,
                    from_object=lambda value: value)
        result = complete_until_parsed(model, store, [PROMPT], SamplingParams(seed=0), form, max_attempts=1,
                                       progress=False)
        assert "response_format" not in server.bodies[-1]
        assert result.samples[0][0].value == "sea"
        assert result.structured.as_dict()[server.base_url]["parsed_from_text"] == 1
        assert len([b for b in server.bodies if "response_format" in b]) == 2  # probed once per run

        # a re-run in the same run directory reuses the recorded probe: it asks what it asked
        # before, and sends no probe (here "on" stops on the recorded result)
        with pytest.raises(DittoError, match=r"--structured on: .* does not enforce"):
            uses_schemas(load_model("scripted", server.base_url, BackendConfig(structured="on")), store)
        assert len([b for b in server.bodies if "response_format" in b]) == 2
        off = load_model("scripted", server.base_url, BackendConfig(structured="off"))
        probes_before = len(server.bodies)
        assert not uses_schemas(off, store) and len(server.bodies) == probes_before


def test_an_enforced_answer_that_breaks_its_schema_is_a_violation_and_asked_again(tmp_path):
    """A server that passes the probe (it echoes the enum) but breaks the schema on the first
    answer of each request: that answer counts as violated, and the re-ask is read."""

    def answer(messages: list[dict], body: dict) -> str:
        fmt = body.get("response_format")
        if fmt is None:
            return "free text"
        schema = fmt.get("schema") or fmt["json_schema"]["schema"]
        if "token" in schema["properties"]:
            return json.dumps({"token": schema["properties"]["token"]["enum"][0]})
        if body["seed"] == 0:
            return '{"code": "wrong", "level": 11}'
        return json.dumps({"code": schema["properties"]["code"]["enum"][0], "level": 3})

    schema, code = unlikely_schema()
    form = Form(from_text=lambda text: text, schema=schema, from_object=lambda value: value)
    with ScriptedServer(answer) as server, RunStore(tmp_path) as store:
        model = load_model("scripted", server.base_url)
        assert uses_schemas(model, store) and store.probes()[0]["form"] == "json_schema"
        result = complete_until_parsed(model, store, [PROMPT], SamplingParams(seed=0), form, max_attempts=2,
                                       progress=False)
    [slot] = result.samples[0]
    assert slot.value == {"code": code, "level": 3} and slot.attempts == 2
    assert result.structured.as_dict()[server.base_url] == {
        "enforced": 1, "violated": 1, "parsed_from_text": 0, "unparsed": 0}
    sent = [b for b in server.bodies if b["messages"][0]["content"] == PROMPT[0].content]
    assert all(b["response_format"]["json_schema"]["schema"] == schema.schema for b in sent)


def test_the_schema_is_part_of_the_request_key_and_the_parser_is_not(tmp_path):
    schema, _ = unlikely_schema()
    plain = ChatRequest(messages=tuple(PROMPT), params=SamplingParams(seed=0))
    with_schema = plain.model_copy(update={"response_schema": schema})
    reordered = with_schema.model_copy(update={"response_schema": ResponseSchema.of(
        "unlikely", {k: schema.schema[k] for k in reversed(list(schema.schema))})})
    keys = {request_key("m", r) for r in (plain, with_schema, reordered)}
    assert len(keys) == 3  # a schema, and a change of its text (property order too), is a new request

    def answer(messages: list[dict], body: dict) -> str:
        fmt = body.get("response_format")
        if fmt is not None and "token" in fmt["json_schema"]["schema"]["properties"]:
            return json.dumps({"token": fmt["json_schema"]["schema"]["properties"]["token"]["enum"][0]})
        return json.dumps({"code": fmt["json_schema"]["schema"]["properties"]["code"]["enum"][0], "level": 7})

    with ScriptedServer(answer) as server, RunStore(tmp_path) as store:
        model = load_model("scripted", server.base_url)
        first = complete_until_parsed(model, store, [PROMPT], SamplingParams(seed=0),
                                      Form(from_text=str, schema=schema, from_object=lambda v: v["level"]),
                                      max_attempts=1, progress=False)
        sent = len(server.bodies)
        # a changed reader reads the stored answer again: nothing is sent
        second = complete_until_parsed(model, store, [PROMPT], SamplingParams(seed=0),
                                       Form(from_text=str, schema=schema, from_object=lambda v: v["level"] * 10),
                                       max_attempts=1, progress=False)
        assert len(server.bodies) == sent
    assert first.samples[0][0].value == 7 and second.samples[0][0].value == 70
