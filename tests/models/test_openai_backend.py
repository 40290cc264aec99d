"""The OpenAI-compatible backend against a real llama.cpp server, directly and through a
fault-injecting proxy."""

import json
import time

import pytest

from ditto.errors import DittoError
from ditto.models.openai_backend import OpenAIChatModel, RetryPolicy, parse_retry_after
from ditto.types import ChatRequest, Message, SamplingParams
from tests.fault_proxy import FaultProxy

FAST_RETRY = RetryPolicy(max_retries=6, base_delay=0.05, max_delay=0.2)


def ask(content: str, **params) -> ChatRequest:
    params.setdefault("max_tokens", 16)
    params.setdefault("temperature", 0)
    return ChatRequest(messages=(Message(role="user", content=content),), params=SamplingParams(**params))


def run(model, requests):
    results = dict(model.generate(requests))
    assert sorted(results) == list(range(len(requests)))
    return [results[i] for i in range(len(requests))]


def test_completes_a_batch_with_usage(llama_server):
    model = OpenAIChatModel("builtin", [llama_server], concurrency=4)
    completions = run(model, [ask("What is the capital of France?"), ask("Say hello."), ask("Name a colour.")])
    assert "paris" in completions[0].text.lower()
    assert all(c.text for c in completions)
    assert all(c.usage.prompt_tokens > 0 and 0 < c.usage.completion_tokens <= 16 for c in completions)


def test_retries_every_transient_fault_and_gets_the_real_answer(llama_server):
    reference = run(OpenAIChatModel("builtin", [llama_server]), [ask("What is the capital of France?")])[0]
    faults = ["429", "500", "reset", "truncate", "badjson", "stall"]
    with FaultProxy(llama_server, faults, stall_seconds=3) as proxy:
        model = OpenAIChatModel("builtin", [proxy.base_url], timeout=1.0, retry=FAST_RETRY)
        started = time.monotonic()
        [completion] = run(model, [ask("What is the capital of France?")])
        elapsed = time.monotonic() - started
    assert completion.text == reference.text
    assert proxy.posts == len(faults) + 1
    assert sum(model.stats.retries.values()) == len(faults)
    assert elapsed >= 1.0  # the 429's Retry-After: 1 was honoured despite a 0.05 s backoff


def test_gives_up_after_the_retry_budget_with_a_clear_error(llama_server):
    with FaultProxy(llama_server, ["500"] * 10) as proxy:
        model = OpenAIChatModel("builtin", [proxy.base_url], retry=RetryPolicy(max_retries=2, base_delay=0.01))
        with pytest.raises(DittoError, match="failed after 3 attempts: HTTP 500"):
            run(model, [ask("hi")])
        assert proxy.posts == 3


def test_several_base_urls_share_the_requests(llama_server):
    with FaultProxy(llama_server) as first, FaultProxy(llama_server) as second:
        model = OpenAIChatModel("builtin", [first.base_url, second.base_url], concurrency=2)
        run(model, [ask(f"Say the number {i}.", max_tokens=4) for i in range(6)])
    assert first.forwarded_posts == 3 and second.forwarded_posts == 3


def test_concurrency_bounds_requests_in_flight(llama_server):
    in_flight = peak = 0

    import threading

    lock = threading.Lock()
    with FaultProxy(llama_server) as proxy:
        original = proxy.server.RequestHandlerClass.do_POST

        def counting(handler):
            nonlocal in_flight, peak
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            try:
                original(handler)
            finally:
                with lock:
                    in_flight -= 1

        proxy.server.RequestHandlerClass.do_POST = counting
        model = OpenAIChatModel("builtin", [proxy.base_url], concurrency=2)
        run(model, [ask(f"Say {i}.", max_tokens=8) for i in range(6)])
    assert peak == 2


def test_unreachable_base_url_fails_before_any_work():
    with pytest.raises(DittoError, match="--base-url: cannot reach http://127.0.0.1:9/v1"):
        OpenAIChatModel("builtin", ["http://127.0.0.1:9/v1"])


def test_api_key_is_sent_only_as_a_header(llama_server, monkeypatch):
    monkeypatch.setenv("DITTO_API_KEY", "sk-secret-test-key")
    model = OpenAIChatModel("builtin", [llama_server])
    assert model._headers() == {"Authorization": "Bearer sk-secret-test-key"}
    assert "sk-secret" not in repr(model.payload(ask("hi")))
    assert "sk-secret" not in model.cache_id


def test_retry_after_parsing():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert 0 <= parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_a_trickled_answer_past_the_deadline_is_retried(llama_server):
    reference = run(OpenAIChatModel("builtin", [llama_server]), [ask("What is the capital of France?")])[0]
    with FaultProxy(llama_server, ["trickle"], trickle_seconds=0.05) as proxy:  # ~25 s for a ~500-byte body
        model = OpenAIChatModel("builtin", [proxy.base_url], timeout=10.0, retry=FAST_RETRY)
        [completion] = run(model, [ask("What is the capital of France?")])
    assert completion.text == reference.text
    assert set(model.retry_report()[proxy.base_url]["reasons"]) == {"deadline"}


def test_a_dead_endpoint_is_skipped_and_tried_again_later(llama_server):
    from tests.conftest import free_port

    dead = f"http://127.0.0.1:{free_port()}/v1"
    requests = [ask(f"Say the number {i}.", max_tokens=6) for i in range(8)]
    reference = run(OpenAIChatModel("builtin", [llama_server]), requests)
    with FaultProxy(llama_server) as live:
        model = OpenAIChatModel("builtin", [dead, live.base_url], concurrency=2, retry=FAST_RETRY)
        model.endpoints[0].cool_down = 0.2  # so that the run outlasts a few cool-downs
        completions = run(model, requests)
    report = model.retry_report()
    assert [c.text for c in completions] == [c.text for c in reference]
    assert live.forwarded_posts == len(requests)  # each request retried on the live endpoint
    assert report[dead]["failed"] == 0 and set(report[dead]["reasons"]) == {"ConnectError"}
    assert report[dead]["sent"] >= 2  # set aside, then tried again after its cool-down


def test_the_least_busy_endpoint_gets_the_next_request(llama_server, second_llama_server):
    """Two real llama.cpp servers, one behind a proxy that adds 6 s to every answer: the
    fast one is given more of the work (round-robin would split it evenly), and the slow
    one is still used."""
    requests = [ask(f"Name a fruit, number {i}.", max_tokens=6) for i in range(10)]
    with FaultProxy(llama_server, ["delay"] * 10, stall_seconds=6.0) as slow, \
            FaultProxy(second_llama_server) as fast:
        model = OpenAIChatModel("builtin", [slow.base_url, fast.base_url], concurrency=2)
        completions = run(model, requests)
    assert all(c.text for c in completions)
    assert slow.forwarded_posts >= 1 and fast.forwarded_posts > slow.forwarded_posts
    assert slow.forwarded_posts + fast.forwarded_posts == len(requests)


def test_repetition_penalty_is_sent_only_when_set_under_both_names():
    model = OpenAIChatModel("m", ["http://127.0.0.1:9/v1"], check_reachable=False)
    unset = model.payload(ask("hi"))
    assert "repetition_penalty" not in unset and "repeat_penalty" not in unset  # the server's own default
    body = model.payload(ask("hi", repetition_penalty=1.1))
    assert body["repetition_penalty"] == body["repeat_penalty"] == 1.1  # vLLM/SGLang; llama.cpp


def test_the_server_applies_the_repetition_penalty_it_is_sent(llama_server):
    """llama-cpp-python reads `repeat_penalty` (its own default is 1.1): sending 1.1 answers
    like sending nothing, sending 1.0 (no penalty) lets the greedy reply repeat more."""
    prompt = "Write the word 'cat' forty times, separated by spaces."
    with FaultProxy(llama_server) as proxy:
        model = OpenAIChatModel("builtin", [proxy.base_url])
        default, same, none = run(model, [ask(prompt, max_tokens=48, repetition_penalty=p) for p in (None, 1.1, 1.0)])
        bodies = [json.loads(b) for b in proxy.bodies]
    assert sorted(b.get("repeat_penalty") for b in bodies if "repeat_penalty" in b) == [1.0, 1.1]
    assert same.text == default.text
    assert none.text != default.text
    assert none.text.lower().count("cat") > default.text.lower().count("cat")


def test_requests_go_out_in_the_order_given():
    """Callers order requests so that shared prompt prefixes go out together (a server's
    prefix cache); the workers take them in that order."""
    from tests.scripted_server import ScriptedServer

    with ScriptedServer(lambda messages, body: "ok") as server:
        model = OpenAIChatModel("scripted", [server.base_url], concurrency=1)
        run(model, [ask(f"question {i}", max_tokens=4) for i in range(12)])
    assert [body["messages"][-1]["content"] for body in server.bodies] == [f"question {i}" for i in range(12)]
