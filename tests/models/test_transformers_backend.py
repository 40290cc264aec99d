"""The transformers backend on the real embedded model (SmolLM2-135M-Instruct GGUF, CPU).

Loading is tested in test_huggingface.py (adapters in tests/train), streaming in
test_stream.py."""

import copy

import pytest

from ditto.models.transformers_backend import (
    BUCKET,
    MIN_ROWS,
    RowRepetitionPenalty,
    TransformersModel,
    bucket_batch,
    bucket_rows,
    decode_attention,
    stop_prefix_length,
)
from ditto.types import ChatRequest, Message, SamplingParams

pytestmark = pytest.mark.slow


def ask(content: str, system: str | None = None, **params) -> ChatRequest:
    messages = ([Message(role="system", content=system)] if system else []) + [
        Message(role="user", content=content)
    ]
    return ChatRequest(messages=tuple(messages), params=SamplingParams(**params))


def run(model, requests):
    results = dict(model.generate(requests))
    assert sorted(results) == list(range(len(requests)))
    return [results[i] for i in range(len(requests))]


def test_greedy_generation_answers_and_counts_tokens(builtin_model):
    [completion] = run(builtin_model, [ask("What is the capital of France?", max_tokens=24, temperature=0)])
    assert "paris" in completion.text.lower()
    assert completion.usage.prompt_tokens > 5
    assert 0 < completion.usage.completion_tokens <= 24


def test_max_tokens_bounds_the_reply(builtin_model):
    [completion] = run(builtin_model, [ask("Tell me a long story about dragons.", max_tokens=5, temperature=0)])
    assert completion.usage.completion_tokens == 5
    assert completion.finish_reason == "length"


def test_batched_results_map_back_to_their_requests(builtin_model):
    """Length-sorted, left-padded batches must give each request its own greedy answer."""
    requests = [
        ask("Name the largest planet of the solar system. Answer in one sentence please.",
            max_tokens=12, temperature=0),
        ask("Hi", max_tokens=12, temperature=0),
        ask("What is the capital of France?", max_tokens=12, temperature=0),
    ]
    together = run(builtin_model, requests)
    alone = [run(builtin_model, [r])[0] for r in requests]
    assert [c.text for c in together] == [c.text for c in alone]
    assert len({c.text for c in together}) == 3


def test_stop_string_cuts_the_reply(builtin_model):
    [free] = run(builtin_model, [ask("Count from 1 to 10, separated by commas.", max_tokens=30, temperature=0)])
    assert "," in free.text
    request = ask("Count from 1 to 10, separated by commas.", max_tokens=30, temperature=0, stop=(",",))
    [stopped] = run(builtin_model, [request])
    assert "," not in stopped.text
    assert free.text.startswith(stopped.text)
    assert stopped.finish_reason == "stop"


def test_seeded_sampling_is_reproducible(builtin_model):
    request = ask("Invent a name for a cat.", max_tokens=16, temperature=1.0, seed=7)
    first = run(builtin_model, [request])[0].text
    second = run(builtin_model, [request])[0].text
    assert first == second


def batched(builtin_model, batch_size: int) -> TransformersModel:
    """The loaded builtin model, generating in batches of `batch_size`."""
    return TransformersModel(
        "builtin", model=builtin_model.model, tokenizer=builtin_model.tokenizer, batch_size=batch_size
    )


SAMPLED = [
    ask(content, max_tokens=12, temperature=1.0, top_p=0.95, seed=seed)
    for content in ("Invent a name for a cat.", "Hi", "Describe a castle in the mountains, please.")
    for seed in (11, 12)
]


def test_a_seeded_sample_does_not_depend_on_the_batch(builtin_model):
    """Batch size, neighbours and order change nothing: each seeded row draws from its own
    generator (here: alone, in batches of 3, all in one batch of 8 rows, and reversed among
    an unseeded request and one with other settings)."""
    alone = [c.text for c in run(batched(builtin_model, 1), SAMPLED)]
    assert [c.text for c in run(batched(builtin_model, 3), SAMPLED)] == alone
    assert [c.text for c in run(batched(builtin_model, 8), SAMPLED)] == alone
    others = [
        ask("Hi", max_tokens=12, temperature=1.0, top_p=0.95),  # unseeded, in the same batches
        ask("Hi", max_tokens=6, temperature=0.5, seed=11),  # other settings: another group
    ]
    mixed = run(batched(builtin_model, 4), [*others, *reversed(SAMPLED)])
    assert [c.text for c in mixed[len(others):]] == alone[::-1]


PENALISED = [
    ask(content, max_tokens=16, temperature=1.0, top_p=0.95, seed=seed, repetition_penalty=1.5)
    for content in ("Invent a name for a cat.", "Hi", "Describe a castle in the mountains, please.")
    for seed in (11, 12)
]


def padded_with(builtin_model, batch_size: int, pad_token: str) -> TransformersModel:
    """The loaded builtin model in batches of `batch_size`, padding with `pad_token`."""
    tokenizer = copy.deepcopy(builtin_model.tokenizer)
    tokenizer.pad_token = pad_token
    return TransformersModel("builtin", model=builtin_model.model, tokenizer=tokenizer, batch_size=batch_size)


def test_a_penalised_seeded_sample_does_not_depend_on_the_batch(builtin_model):
    """With a repetition penalty too, batch size changes nothing, even padded with a token
    the replies use (' the'): padding is not one of a row's tokens, so it is never penalised."""
    alone = [c.text for c in run(padded_with(builtin_model, 1, "Ġthe"), PENALISED)]
    assert [c.text for c in run(padded_with(builtin_model, 3, "Ġthe"), PENALISED)] == alone
    assert [c.text for c in run(padded_with(builtin_model, 8, "Ġthe"), PENALISED)] == alone
    assert [c.text for c in run(batched(builtin_model, 8), PENALISED)] == alone  # the usual pad token
    unpenalised = [r.model_copy(update={"params": r.params.model_copy(update={"repetition_penalty": None})})
                   for r in PENALISED]
    assert [c.text for c in run(batched(builtin_model, 8), unpenalised)] != alone  # it did penalise


def test_the_row_penalty_is_transformers_own_on_each_row_alone():
    import torch
    from transformers import RepetitionPenaltyLogitsProcessor

    torch.manual_seed(0)
    scores = torch.randn(2, 12)
    pad = 7
    rows = [[3, 5, 5, 9], [4, 2]]  # row 1 left-padded with two pad tokens
    input_ids = torch.tensor([rows[0], [pad, pad, *rows[1]]])
    pads = torch.tensor([0, 2])
    ours = RowRepetitionPenalty(1.3, pads)(input_ids, scores.clone())
    reference = RepetitionPenaltyLogitsProcessor(1.3)
    for row, ids in enumerate(rows):
        alone = reference(torch.tensor([ids]), scores[row : row + 1].clone())
        torch.testing.assert_close(ours[row : row + 1], alone, rtol=0, atol=0)
    padded = reference(input_ids, scores.clone())
    assert padded[1, pad] != ours[1, pad]  # what the plain processor would do to the padded row


def test_different_seeds_give_different_samples(builtin_model):
    requests = [
        ask("Invent a name for a cat.", max_tokens=12, temperature=1.0, seed=s) for s in range(4)
    ]
    texts = [c.text for c in run(batched(builtin_model, 4), requests)]
    assert len(set(texts)) == len(texts)


def test_stop_prefix_length():
    assert stop_prefix_length("Hello\nUs", ["\nUser:"]) == 3
    assert stop_prefix_length("Hello", ["\nUser:", "lo!"]) == 2
    assert stop_prefix_length("Hello", [","]) == 0  # a one-character stop has no proper start


def test_system_prompt_reaches_the_model(builtin_model):
    prompt = builtin_model.render(
        [Message(role="system", content="You are Sherlock Holmes."), Message(role="user", content="Who are you?")]
    )
    text = builtin_model.tokenizer.decode(prompt)
    assert "You are Sherlock Holmes." in text
    assert text.rstrip().endswith("assistant")  # the generation prompt is appended


def test_cache_identity_changes_when_a_local_model_is_rewritten(tmp_path):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    before = TransformersModel(str(model_dir)).cache_id
    (model_dir / "model.safetensors").write_bytes(b"new weights")
    assert TransformersModel(str(model_dir)).cache_id != before


# The static-cache path, CUDA's default (bucketed shapes, a reused cache, `decode_attention`),
# forced here on CPU where transformers does not compile it: it must give every request the
# answer of the plain path, and its filler rows must never reach the results.

PROMPTS = [
    "Hi",
    "What is the capital of France?",
    "Tell me about dragons and castles in a long story please, with many details.",
    "ok",
    "Name three colors.",
    "Why is the sky blue? Explain like I am five years old.",
]


@pytest.fixture(scope="module")
def tiny_qwen2(builtin_model):
    """A randomly initialised 2-layer Qwen2 (4 query heads sharing 2 key/value heads) with the
    builtin model's tokenizer. Weights drawn 25 times wider than usual spread the logits,
    so that rounding differences between the paths cannot flip a greedy choice."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer = builtin_model.tokenizer
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=True,
        initializer_range=0.5,
        eos_token_id=tokenizer.eos_token_id,
    )
    return Qwen2ForCausalLM(config), tokenizer


def wrap(tiny, **options) -> TransformersModel:
    model, tokenizer = tiny
    return TransformersModel(
        "tiny-qwen2", model=copy.deepcopy(model), tokenizer=copy.deepcopy(tokenizer), **options
    )


def test_bucket_batch_pads_rows_and_length():
    ids, mask = bucket_batch([[5, 6, 7], [1] * 70, [8, 9]], batch_size=16, pad_id=0)
    assert len(ids) == MIN_ROWS and {len(row) for row in ids} == {2 * BUCKET}
    assert ids[0] == [0] * 125 + [5, 6, 7] and mask[0] == [0] * 125 + [1] * 3
    assert ids[1] == [0] * 58 + [1] * 70 and mask[1] == [0] * 58 + [1] * 70
    assert ids[3:] == [[0] * 126 + [8, 9]] * 5  # fillers: copies of the shortest prompt
    assert [bucket_rows(n, 256) for n in (1, 8, 9, 100, 256, 300)] == [8, 8, 16, 128, 256, 256]
    assert bucket_rows(3, 4) == 4  # never more rows than the batch size


def test_decode_attention_equals_sdpa_over_repeated_heads():
    import torch

    torch.manual_seed(0)
    query, key, value = torch.randn(3, 6, 1, 8), torch.randn(3, 2, 10, 8), torch.randn(3, 2, 10, 8)
    mask = torch.rand(3, 1, 1, 10) > 0.3
    mask[..., 0] = True
    module = torch.nn.Module()
    module.num_key_value_groups = 3
    output, _ = decode_attention(module, query, key, value, mask, scaling=0.3)
    expected = torch.nn.functional.scaled_dot_product_attention(
        query, key.repeat_interleave(3, dim=1), value.repeat_interleave(3, dim=1), mask, scale=0.3
    ).transpose(1, 2)
    torch.testing.assert_close(output, expected)


def test_static_cache_path_answers_like_the_plain_path(tiny_qwen2):
    requests = [ask(text, max_tokens=12, temperature=0) for text in PROMPTS]
    plain_model = wrap(tiny_qwen2, batch_size=4)
    assert not plain_model.static_cache  # CPU's default
    plain = run(plain_model, requests)
    model = wrap(tiny_qwen2, batch_size=4, static_cache=True)
    # batches of 4 and of 2 real rows padded to 4: each request answered once, fillers dropped
    results = list(model.generate(requests))
    assert sorted(index for index, _ in results) == list(range(len(requests)))
    static = [completion for _, completion in sorted(results, key=lambda pair: pair[0])]
    assert [c.text for c in static] == [c.text for c in plain]
    assert [c.usage for c in static] == [c.usage for c in plain]
    assert len({c.text for c in static}) == len(requests)
    # alone, a request shares its batch with 3 fillers only: still its own answer
    assert [run(model, [r])[0].text for r in requests[:3]] == [c.text for c in plain[:3]]


def test_static_cache_is_reused_across_batches_of_one_shape(tiny_qwen2):
    model = wrap(tiny_qwen2, batch_size=4, static_cache=True)
    first = run(model, [ask(PROMPTS[1], max_tokens=6, temperature=1.0, seed=3)])
    cache = model._cache
    again = run(model, [ask(PROMPTS[1], max_tokens=6, temperature=1.0, seed=3)])
    assert model._cache is cache  # one shape, one cache (on CUDA: one recorded graph)
    assert [c.text for c in again] == [c.text for c in first]  # seeded sampling reproduces


def test_static_cache_path_samples_like_the_plain_path(tiny_qwen2):
    """Seeded sampling on the static path: filler rows draw nothing from the real rows'
    generators, so each request gets the sample it gets alone on the plain path."""
    requests = [
        ask(text, max_tokens=12, temperature=1.0, top_p=0.9, seed=i) for i, text in enumerate(PROMPTS)
    ]
    alone = run(wrap(tiny_qwen2, batch_size=1), requests)
    # batches of 4 real rows, then 2 real rows and 2 fillers
    static = run(wrap(tiny_qwen2, batch_size=4, static_cache=True), requests)
    assert [c.text for c in static] == [c.text for c in alone]
    assert [c.usage for c in static] == [c.usage for c in alone]
    greedy = run(wrap(tiny_qwen2), [ask(text, max_tokens=12, temperature=0) for text in PROMPTS])
    assert [c.text for c in static] != [c.text for c in greedy]  # it did sample


def test_static_cache_path_penalises_like_the_plain_path(tiny_qwen2):
    """CUDA's default path with a repetition penalty: its bucketed padding and filler rows
    are no row's tokens, so each request gets the reply it gets alone on the plain path. The
    random model never happens to pick a token it has seen, so the penalty here is below 1:
    it favours the row's own tokens, and a reply shows at once which tokens a row counted."""
    requests = [
        ask(text, max_tokens=12, temperature=temperature, seed=i, repetition_penalty=0.05)
        for i, text in enumerate(PROMPTS) for temperature in (0, 1.0)
    ]
    alone = run(wrap(tiny_qwen2, batch_size=1), requests)
    static = run(wrap(tiny_qwen2, batch_size=4, static_cache=True), requests)
    assert [c.text for c in static] == [c.text for c in alone]
    unpenalised = run(wrap(tiny_qwen2, batch_size=1), [
        r.model_copy(update={"params": r.params.model_copy(update={"repetition_penalty": None})}) for r in requests
    ])
    assert [c.text for c in unpenalised] != [c.text for c in alone]


def test_a_failing_static_path_falls_back_to_the_plain_one(tiny_qwen2, monkeypatch):
    """The compiled path depends on library versions; if it breaks, the run goes on slower."""
    import transformers

    class BrokenCache:
        def __init__(self, **kwargs):
            raise RuntimeError("no graph for you")

    requests = [ask(text, max_tokens=8, temperature=0) for text in PROMPTS[:3]]
    plain = run(wrap(tiny_qwen2, batch_size=4), requests)
    monkeypatch.setattr(transformers, "StaticCache", BrokenCache)
    model = wrap(tiny_qwen2, batch_size=4, static_cache=True)
    with pytest.warns(UserWarning, match="static-cache generation failed .*no graph for you"):
        fallback = run(model, requests)
    assert [c.text for c in fallback] == [c.text for c in plain]
    assert model.static_cache is False and model.model.config._attn_implementation == "sdpa"


def test_a_local_model_counts_tokens_with_its_own_tokenizer_before_loading_weights(builtin_model):
    """What sizes a profile's introduction in the simulation prompts (`token_counter`): a
    local model's tokenizer, loaded alone; a server's model: the estimate of `ditto.cost`."""
    from ditto.cost import estimate_tokens
    from ditto.models.base import token_counter
    from ditto.models.openai_backend import OpenAIChatModel

    model = TransformersModel("builtin")
    text = "Douglas Adams wrote The Hitchhiker's Guide to the Galaxy. 道格拉斯·亚当斯是英国作家。"
    expected = len(builtin_model.tokenizer(text, add_special_tokens=False)["input_ids"])
    assert model.count_tokens(text) == expected != estimate_tokens(text)
    assert model.model is None  # the weights were not loaded for it
    assert token_counter(model)(text) == expected
    assert token_counter(OpenAIChatModel("m", ["http://127.0.0.1:9/v1"], check_reachable=False)) is estimate_tokens
