"""Constrained decoding on the real embedded model (SmolLM2-135M-Instruct GGUF, CPU): answers
under a JSON schema through llguidance (`ditto.models.grammar`), per row of a batch, with
seeded sampling unchanged."""

import json
import sys

import jsonschema
import pytest

from ditto.errors import DittoError
from ditto.models.grammar import Grammars, unpack_bitmask
from ditto.models.transformers_backend import TransformersModel
from ditto.types import ChatRequest, Message, ResponseSchema, SamplingParams

# a schema the model would never satisfy unprompted: a made-up word, then an integer 1-10
ODD = ResponseSchema.of(
    "odd",
    {
        "type": "object",
        "properties": {"word": {"enum": ["qzxv"]}, "n": {"type": "integer", "minimum": 1, "maximum": 10}},
        "required": ["word", "n"],
        "additionalProperties": False,
    },
)
CHOICE = ResponseSchema.of(
    "choice",
    {
        "type": "object",
        "properties": {
            "why": {"type": "string", "maxLength": 24},
            "pick": {"enum": ['red "hot"', "[green]\n{x}", "blue\\"]},
        },
        "required": ["why", "pick"],
        "additionalProperties": False,
    },
)


def ask(content: str, schema: ResponseSchema | None = None, **params) -> ChatRequest:
    params = {"max_tokens": 24, "temperature": 0.7, "top_p": 0.95, **params}
    return ChatRequest(
        messages=(Message(role="user", content=content),), params=SamplingParams(**params), response_schema=schema
    )


def batched(builtin_model, batch_size: int) -> TransformersModel:
    return TransformersModel(
        "builtin", model=builtin_model.model, tokenizer=builtin_model.tokenizer, batch_size=batch_size
    )


def run(model, requests):
    results = dict(model.generate(requests))
    assert sorted(results) == list(range(len(requests)))
    return [results[i] for i in range(len(requests))]


def valid(schema: ResponseSchema, text: str) -> bool:
    try:
        return jsonschema.Draft202012Validator(schema.schema).is_valid(json.loads(text))
    except json.JSONDecodeError:
        return False


@pytest.mark.slow
def test_seeded_samples_all_follow_a_schema_the_model_would_not(builtin_model):
    requests = [ask("Tell me about cats.", ODD, seed=seed) for seed in range(20)]
    completions = run(batched(builtin_model, 10), requests)
    for completion in completions:
        assert valid(ODD, completion.text), completion.text
        assert completion.structured == "enforced" and completion.endpoint == "local"
        assert completion.finish_reason == "stop"
    assert len({c.text for c in completions}) > 1  # sampled, not one forced answer
    [free] = run(builtin_model, [ask("Tell me about cats.", seed=0)])
    assert not valid(ODD, free.text) and free.structured is None and free.endpoint == "local"


@pytest.mark.slow
def test_a_batch_mixes_free_and_differently_constrained_rows(builtin_model):
    free = ask("Invent a name for a cat.", seed=3)
    requests = [ask("Pick a colour.", CHOICE, seed=1), free, ask("Tell me about cats.", ODD, seed=2)]
    model = batched(builtin_model, 8)
    odd_row, free_row, choice_row = run(model, requests)[::-1]
    assert valid(CHOICE, choice_row.text) and valid(ODD, odd_row.text)
    assert choice_row.structured == odd_row.structured == "enforced"
    [alone] = run(model, [free])
    assert free_row.text == alone.text and free_row.structured is None


CONSTRAINED = [
    ask("Pick a colour and say why.", CHOICE, seed=11),
    ask("Hi", ODD, seed=12),
    ask("Describe a castle.", CHOICE, seed=12),
]


@pytest.mark.slow
def test_constrained_seeded_samples_do_not_depend_on_the_batch(builtin_model):
    alone = [c.text for c in run(batched(builtin_model, 1), CONSTRAINED)]
    assert all(valid(r.response_schema, text) for r, text in zip(CONSTRAINED, alone))
    assert len(set(alone)) > 2
    assert [c.text for c in run(batched(builtin_model, 8), CONSTRAINED)] == alone
    reordered = run(batched(builtin_model, 2), [ask("Hi", seed=5), *reversed(CONSTRAINED)])
    assert [c.text for c in reordered[1:]] == alone[::-1]


@pytest.mark.slow
def test_a_constrained_stream_gives_the_generated_completion(builtin_model):
    request = ask("Pick a colour.", CHOICE, seed=4)
    stream = builtin_model.stream(request)
    pieces = []
    try:
        while True:
            pieces.append(next(stream))
    except StopIteration as done:
        streamed = done.value
    [generated] = run(builtin_model, [request])
    assert streamed == generated and "".join(pieces) == generated.text
    assert valid(CHOICE, generated.text) and generated.structured == "enforced"


@pytest.mark.slow
def test_the_processor_survives_rejected_tokens_and_padding_after_the_end(builtin_model):
    import torch

    tokenizer, eos = builtin_model.tokenizer, builtin_model.eos_token_ids
    grammars = Grammars(tokenizer, eos, 49152 + 64)  # logits wider than the tokenizer
    processor = grammars.processor([ODD, None, ODD])  # a 4th row: filler
    answer = tokenizer.encode('{"word": "qzxv", "n": 7}', add_special_tokens=False)
    wrong = tokenizer.encode("Hello", add_special_tokens=False)[0]
    ids = torch.zeros((4, 3), dtype=torch.long)
    scores = torch.randn(4, 49152 + 64)
    for step in range(len(answer) + 3):
        out = processor(ids, scores)
        assert torch.equal(out[1], scores[1]) and torch.equal(out[3], scores[3])  # free and filler rows
        allowed = (out[0] > float("-inf")).nonzero().flatten().tolist()
        if step < len(answer):
            assert answer[step] in allowed and not any(t >= 49152 for t in allowed)
            next_0 = answer[step]
        else:  # the grammar ended, then the row ended, then HF pads it: end of turn only
            assert allowed == eos
            next_0 = eos[0] if step == len(answer) else 0  # 0: padding its matcher must not see
        next_2 = wrong if step == 1 else answer[step] if step < len(answer) else 0
        if step >= 2:  # row 2 drew a token its grammar rejects: no longer masked
            assert torch.equal(out[2], scores[2])
        ids = torch.cat([ids, torch.tensor([[next_0], [5], [next_2], [5]])], dim=1)
    assert processor.violated == {2} and processor.finished == {0}


def test_compiled_grammars_are_kept_in_a_bounded_cache(builtin_model):
    grammars = Grammars(builtin_model.tokenizer, builtin_model.eos_token_ids, 49152, cache_size=2)
    first = grammars.compiled(ODD)
    assert grammars.compiled(ODD) is first
    grammars.compiled(CHOICE)
    grammars.compiled(ResponseSchema.of("third", {"type": "integer"}))
    assert grammars.compiled(ODD) is not first  # evicted, compiled again
    with pytest.raises(DittoError, match="response schema 'bad'"):
        grammars.compiled(ResponseSchema.of("bad", {"type": "no such type"}))


def test_bitmask_layout():
    import numpy as np
    import torch

    bitmask = np.array([[1 | (1 << 31), 0], [0, 1 << 2]], dtype=np.uint32).view(np.int32)  # tokens 0, 31; 34
    allowed = unpack_bitmask(torch.from_numpy(bitmask), 70)  # wider than the mask: the rest banned
    assert allowed.shape == (2, 70)
    assert allowed[0].nonzero().flatten().tolist() == [0, 31] and allowed[1].nonzero().flatten().tolist() == [34]
    assert unpack_bitmask(torch.from_numpy(bitmask), 33)[1].nonzero().flatten().tolist() == []


def test_a_missing_engine_is_named_in_one_line(builtin_model, monkeypatch):
    monkeypatch.setitem(sys.modules, "llguidance", None)  # `import llguidance` raises ImportError
    with pytest.raises(DittoError, match=r"^[^\n]*pip install llguidance$"):
        Grammars(builtin_model.tokenizer, builtin_model.eos_token_ids, 49152)
    model = batched(builtin_model, 8)
    with pytest.raises(DittoError, match="pip install llguidance"):
        run(model, [ask("Hi", ODD, max_tokens=2)])
    assert run(model, [ask("Hi", max_tokens=2)])[0].structured is None  # free requests need no engine
