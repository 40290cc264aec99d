"""Streaming on the real embedded model (SmolLM2-135M-Instruct GGUF, CPU): `stream` gives
`generate`'s reply in pieces, `complete_stream` records it in the run store, and `ditto chat`
logs its turns there."""

import time

import pytest
from typer.testing import CliRunner

from ditto.models.calls import complete, complete_stream
from ditto.models.transformers_backend import TransformersModel
from ditto.store import RunStore
from ditto.types import ChatRequest, Message, SamplingParams

pytestmark = pytest.mark.slow

QUESTION = [Message(role="user", content="Invent a name for a cat and say why.")]
SEEDED = SamplingParams(max_tokens=16, temperature=1.0, top_p=0.95, seed=5)
GREEDY = SamplingParams(max_tokens=16, temperature=0)


def collect(stream):
    """(pieces, return value) of a generator."""
    pieces = []
    while True:
        try:
            pieces.append(next(stream))
        except StopIteration as done:
            return pieces, done.value


def shared(builtin_model, calls: list[str]) -> TransformersModel:
    """The loaded builtin model under its own wrapper, noting in `calls` each time it is
    asked to generate or stream."""
    model = TransformersModel(
        "builtin", model=builtin_model.model, tokenizer=builtin_model.tokenizer
    )
    generate, stream = model.generate, model.stream

    def counted_generate(requests):
        if requests:  # `complete` hands over an empty list when the store has everything
            calls.append("generate")
        return generate(requests)

    def counted_stream(request):
        calls.append("stream")
        return stream(request)

    model.generate, model.stream = counted_generate, counted_stream
    return model


@pytest.mark.parametrize(
    "params",
    [SEEDED, GREEDY, GREEDY.model_copy(update={"stop": ("cat is", ",")})],
    ids=["seeded", "greedy", "stop-strings"],
)
def test_stream_pieces_join_to_the_generated_completion(builtin_model, params):
    request = ChatRequest(messages=tuple(QUESTION), params=params)
    [(_, generated)] = list(builtin_model.generate([request]))
    pieces, streamed = collect(builtin_model.stream(request))
    assert len(pieces) > 1 and all(pieces)
    assert "".join(pieces) == streamed.text == generated.text
    assert streamed == generated  # finish reason and usage too
    if params.stop:  # held back while it could be the start of a stop string, then cut
        assert streamed.finish_reason == "stop" and streamed.text.endswith("my")


def test_a_stream_closed_early_stops_generating(builtin_model):
    """Closing waits for the generating thread, which stops at its next step instead of
    writing the other 250 tokens (several seconds here)."""
    story = [Message(role="user", content="Tell me a very long story about dragons.")]
    params = SamplingParams(max_tokens=256, temperature=0)
    stream = builtin_model.stream(ChatRequest(messages=tuple(story), params=params))
    next(stream)
    started = time.perf_counter()
    stream.close()
    assert time.perf_counter() - started < 2.0


def test_complete_stream_stores_the_reply_and_reuses_it(builtin_model, tmp_path):
    calls: list[str] = []
    model = shared(builtin_model, calls)
    with RunStore(tmp_path / "run") as store:
        pieces, first = collect(complete_stream(model, store, QUESTION, SEEDED))
        assert calls == ["stream"] and store.count() == 1
        assert "".join(pieces) == first.text and not first.cached
        again, second = collect(complete_stream(model, store, QUESTION, SEEDED))
        assert calls == ["stream"]  # from the store: the model is not asked again
        assert again == [first.text] and second.cached and second.text == first.text
        # the key is `complete`'s: what one door stored, the other finds
        [[reply]] = complete(model, store, [QUESTION], SEEDED, progress=False)
        assert calls == ["stream"] and reply.text == first.text


def test_complete_stream_without_a_streaming_backend_yields_the_whole_reply(
    builtin_model, tmp_path
):
    calls: list[str] = []
    model = shared(builtin_model, calls)
    model.stream = None  # a backend without `stream`, like the OpenAI-compatible one
    with RunStore(tmp_path / "run") as store:
        pieces, completion = collect(complete_stream(model, store, QUESTION, GREEDY))
        assert calls == ["generate"] and pieces == [completion.text] and store.count() == 1


def test_a_reply_cut_off_is_not_stored(builtin_model, tmp_path):
    with RunStore(tmp_path / "run") as store:
        stream = complete_stream(builtin_model, store, QUESTION, GREEDY)
        next(stream)
        stream.close()  # what Ctrl-C does to `ditto chat`'s loop
        assert store.count() == 0


def test_chat_logs_its_turns_in_the_run_store(builtin_model, tmp_path, monkeypatch):
    import ditto.models
    from ditto.cli import app

    calls: list[str] = []
    loaded: list[tuple] = []

    def load_model(name, base_url=None):
        loaded.append((name, base_url))
        return shared(builtin_model, calls)  # the session's weights, not a second load

    monkeypatch.setattr(ditto.models, "load_model", load_model)
    run_dir = tmp_path / "chat"
    command = ["chat", "--character", "Sherlock Holmes", "--run", str(run_dir),
               "--max-tokens", "8", "--temperature", "0"]
    first = CliRunner().invoke(app, command, input="Who are you?\nWhere do you live?\n")
    assert first.exit_code == 0, first.output
    assert loaded == [("builtin", None)] and calls == ["stream", "stream"]
    replies = [line.partition("> ")[2] for line in first.stdout.splitlines() if "> " in line]
    with RunStore(run_dir) as store:
        assert store.count() == 2
        rows = store.db.execute("SELECT request, text FROM requests ORDER BY rowid").fetchall()
    assert [text for _, text in rows] == replies and all(replies)
    requests = [ChatRequest.model_validate_json(request) for request, _ in rows]
    assert requests[0].messages[0].content.startswith("You are Sherlock Holmes")
    history = [m.content for m in requests[1].messages[1:]]
    assert history == ["Who are you?", replies[0], "Where do you live?"]

    again = CliRunner().invoke(app, command, input="Who are you?\n")
    assert again.exit_code == 0 and calls == ["stream", "stream"]  # answered from the store
    assert f"> {replies[0]}" in again.stdout
