"""Local generation with Hugging Face transformers: a hub id, a local directory, a GGUF file,
the embedded default, or a `ditto train` adapter directory, all loaded by
`ditto.models.huggingface.load_pretrained`.

Requests are grouped by sampling settings, sorted by prompt length and generated in
left-padded batches, so that little compute goes to padding. bf16 on CUDA, float32 on CPU.

Sampling is `SeededSampler`'s: a seeded request draws each token from its own generator,
seeded with its seed, so that its reply depends on the model, the messages, the sampling
settings and the seed alone, never on the batch size, its neighbours in the batch or their
order (as vLLM's per-request seeds do). `stream` gives one reply in pieces as it is generated,
through the same batch code, so a seed gives the same reply streamed or not. A repetition
penalty (`RowRepetitionPenalty`) is kept to each row's own tokens for the same reason.
A request with a response schema is answered under it: `ditto.models.grammar` masks the
row's disallowed tokens to -inf after the penalty and before the draw (each row its own
grammar, or none), so a seed gives the same answer in any batch here too; its completion
says `structured="enforced"`.

On CUDA, generation runs the way transformers makes fast with its own parts: a static KV
cache, which lets `generate` compile its decoding step with CUDA graphs (transformers'
auto-compile, `CompileConfig` defaults: inductor, "reduce-overhead"), so that a step costs
one graph launch instead of hundreds of kernel launches from Python. A graph serves one
shape only, so batches come in few shapes: `bucket_batch` pads the rows to the batch size
(a power of two for a group's last, partial batch) and the prompt length to a multiple of
`BUCKET` tokens; one cache per shape is kept and reused, so that consecutive batches of a
shape replay the same graph. Decoding attends through `decode_attention`, which reads
each shared key/value head once instead of once per query head. On CPU, where compiling
costs more than it saves, `generate` runs as is (dynamic cache, no padding to a bucket).
"""

from __future__ import annotations

import queue
import threading
import warnings
from collections import defaultdict
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait

from ditto.errors import DittoError
from ditto.models.config import LOCAL_BATCH_CPU, LOCAL_BATCH_GPU
from ditto.models.huggingface import (
    end_of_turn_ids,
    load_pretrained,
    local_fingerprint,
    merge_system_into_first_user,
    resolve_source,
)
from ditto.models.structured import check_mode
from ditto.types import ChatRequest, Completion, Message, ResponseSchema, SamplingParams, Usage

BUCKET = 64
"""Static-cache batches pad prompt lengths and cache lengths up to a multiple of this."""
MIN_ROWS = 8
"""The fewest rows of a static-cache batch (a group's last batch is padded up to a power of two)."""
DECODE_ATTENTION = "ditto_decode_sdpa"


def round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def bucket_rows(n: int, batch_size: int) -> int:
    """Rows a static-cache batch of `n` prompts runs at: the batch size, or for fewer
    prompts (a group's last batch) the next power of two, at least `MIN_ROWS`."""
    if n >= batch_size:
        return batch_size
    return min(batch_size, max(MIN_ROWS, 1 << (n - 1).bit_length()))


def bucket_batch(
    prompts: Sequence[list[int]], batch_size: int, pad_id: int
) -> tuple[list[list[int]], list[list[int]]]:
    """Input ids and attention mask of a batch in a bucketed shape: `bucket_rows` rows, the
    missing ones copies of the shortest prompt (the caller drops their outputs), every row
    left-padded to the longest prompt rounded up to a multiple of `BUCKET` tokens."""
    filler = min(prompts, key=len)
    rows = list(prompts) + [filler] * (bucket_rows(len(prompts), batch_size) - len(prompts))
    width = round_up(max(len(p) for p in prompts), BUCKET)
    input_ids = [[pad_id] * (width - len(p)) + list(p) for p in rows]
    attention_mask = [[0] * (width - len(p)) + [1] * len(p) for p in rows]
    return input_ids, attention_mask


class RowsDone:
    """A stopping criterion for `generate` that marks the filler rows finished from the
    first step, so that they never keep a batch decoding after its real rows are done."""

    def __init__(self, done) -> None:
        self.done = done

    def __call__(self, input_ids, scores, **kwargs):
        return self.done


def decode_attention(module, query, key, value, attention_mask, **kwargs):
    """transformers' sdpa attention, except for one query token per row (decoding) with
    grouped key/value heads: there the query heads sharing a key/value head are stacked as
    rows of one query, so each key/value head is read once. transformers' sdpa, compiled and
    with a mask, copies every key/value head once per query head first: for a Qwen2.5-1.5B
    (6 query heads per key/value head) at 256 rows of 384 tokens, about 36 GB written and
    read per step, where the weights are 3 GB and the cache itself 3 GB."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    batch, heads, length, dim = query.shape
    groups = heads // key.shape[1]
    mask = attention_mask
    if (
        length != 1
        or groups == 1
        or (mask is not None and mask.shape[1] != 1)
        or kwargs.get("position_bias") is not None
    ):
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    stacked = query.reshape(batch, heads // groups, groups, dim)
    output = torch.nn.functional.scaled_dot_product_attention(
        stacked, key, value, attn_mask=mask, scale=kwargs.get("scaling")
    )
    return output.reshape(batch, heads, 1, dim).transpose(1, 2).contiguous(), None


def register_decode_attention() -> None:
    """Make `DECODE_ATTENTION` a valid `attn_implementation`, with sdpa's masks."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

    AttentionInterface.register(DECODE_ATTENTION, decode_attention)
    AttentionMaskInterface.register(DECODE_ATTENTION, ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])


class SeededSampler:
    """`generate`'s logits processor for a sampled batch: it draws every row's next token and
    returns scores whose argmax is that token, so `generate` runs greedy (`do_sample=False`)
    and the draw is all here.

    Temperature and top-p are transformers' own warpers, applied as `do_sample=True` applies
    them (no top-k). The draw is the exponential race: argmax(p / q) with one q ~ Exp(1) per
    token picks token i with probability p_i, as a multinomial draw does. A row with a seed
    draws its q from its own `torch.Generator`, seeded with that seed, one vector per decoding
    step: its tokens are a function of its own logits and seed, whatever the rows beside it.
    Rows without a seed draw from torch's global generator; filler rows (those past
    `len(seeds)`, which the static-cache path adds) draw nothing and take their likeliest token.
    """

    def __init__(self, params: SamplingParams, seeds: Sequence[int | None], device) -> None:
        import torch
        from transformers import TemperatureLogitsWarper, TopPLogitsWarper

        self.warpers = []
        if params.temperature != 1.0:
            self.warpers.append(TemperatureLogitsWarper(params.temperature))
        if params.top_p < 1.0:
            self.warpers.append(TopPLogitsWarper(params.top_p))
        self.generators = {
            row: torch.Generator(device=device).manual_seed(seed % 2**64)
            for row, seed in enumerate(seeds)
            if seed is not None
        }
        self.unseeded = [row for row, seed in enumerate(seeds) if seed is None]

    def __call__(self, input_ids, scores):
        import torch

        for warp in self.warpers:
            scores = warp(input_ids, scores)
        probs = scores.softmax(dim=-1)
        race = torch.ones_like(probs)  # filler rows: no draw, their likeliest token
        for row, generator in self.generators.items():
            race[row].exponential_(generator=generator)
        if self.unseeded:
            race[self.unseeded] = torch.empty_like(probs[self.unseeded]).exponential_()
        # a draw of exactly 0 must not turn a token of probability 0 into 0/0
        chosen = (probs / race.clamp_min(torch.finfo(race.dtype).tiny)).argmax(dim=-1)
        return torch.full_like(scores, float("-inf")).scatter_(1, chosen[:, None], 0.0)


class RowRepetitionPenalty:
    """transformers' `RepetitionPenaltyLogitsProcessor` (as `generate(repetition_penalty=...)`
    and vLLM apply it: over the prompt and the reply so far), over each row's own tokens only.

    Given a left-padded batch, transformers' processor would count the padding as tokens of
    the shorter rows and penalise the pad token in them alone, so that a reply would depend on
    the longest prompt beside it. Here each row's padding positions are first replaced by its
    own first prompt token (a token that appears twice is penalised exactly as one that
    appears once), and the processor, which gathers and scatters row by row, sees only what
    the row would hold alone: the result is bit for bit the processor's on the row alone."""

    def __init__(self, penalty: float, pads) -> None:
        """`pads`: a tensor of each row's left-padding length."""
        from transformers import RepetitionPenaltyLogitsProcessor

        self.processor = RepetitionPenaltyLogitsProcessor(penalty)
        self.pads = pads

    def __call__(self, input_ids, scores):
        import torch

        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        padding = positions[None, :] < self.pads[:, None]
        first_token = input_ids.gather(1, self.pads[:, None])
        return self.processor(torch.where(padding, first_token, input_ids), scores)


class Cancelled:
    """A stopping criterion that ends every row once `event` is set (a stream's reader left)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        rows = input_ids.shape[0]
        return torch.full((rows,), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


class TokenQueue:
    """A `generate` streamer that hands the first row's new tokens to another thread, in order.
    Each `generate` puts its prompt first, which arrives as None (start over: the static path
    may fail and run again without its cache); `end` closes the queue."""

    END = object()

    def __init__(self) -> None:
        self.queue: queue.Queue = queue.Queue()

    def put(self, value) -> None:
        self.queue.put(None if value.dim() > 1 else int(value[0]))

    def end(self) -> None:
        self.queue.put(self.END)

    def __iter__(self) -> Iterator[int | None]:
        while (item := self.queue.get()) is not self.END:
            yield item


def stop_prefix_length(text: str, stops: Sequence[str]) -> int:
    """How many characters at the end of `text` could be the start of a stop string."""
    longest = 0
    for stop in stops:
        for length in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:length]):
                longest = length
                break
    return longest


class TransformersModel:
    def __init__(
        self,
        name: str,
        *,
        device: str | None = None,
        batch_size: int | None = None,
        model=None,
        tokenizer=None,
        static_cache: bool | None = None,
        structured: str = "auto",
    ) -> None:
        """Cheap: checks the source and names the model; weights load at the first generate,
        so that a run answered entirely from the store never pays for loading. `model` and
        `tokenizer` wrap objects already in memory (`name` then only names them).
        `static_cache`: the bucketed static-cache path (module docstring); by default on CUDA."""
        self.name = name
        self._device = device
        self._batch_size = batch_size
        self._static_cache = static_cache
        self._cache, self._cache_shape = None, None
        self._stream_thread: ThreadPoolExecutor | None = None
        self.source, self.gguf_file = resolve_source(name)
        self.cache_id = f"transformers:{name}:{local_fingerprint(self.source, self.gguf_file)}"
        self.model, self.tokenizer = model, tokenizer
        self._counting_tokenizer = None
        self._grammars = None  # built at the first request with a response schema
        self.structured = check_mode(structured)
        if model is not None and tokenizer is not None:
            self._prepare()

    def load(self) -> None:
        if self.model is not None and self.tokenizer is not None:
            return
        import torch

        device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        model, tokenizer = load_pretrained(self.name, dtype)
        self.model, self.tokenizer = model.to(device), tokenizer
        self._prepare()

    def _prepare(self) -> None:
        import inspect

        import transformers

        self.model.eval()
        self.device = str(self.model.device)
        cuda = self.device.startswith("cuda")
        self.batch_size = self._batch_size or (LOCAL_BATCH_GPU if cuda else LOCAL_BATCH_CPU)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.eos_token_ids = end_of_turn_ids(self.tokenizer, self.model.generation_config)
        transformers_5 = int(transformers.__version__.split(".")[0]) >= 5  # its StaticCache API
        self.static_cache = (
            cuda and transformers_5 if self._static_cache is None else self._static_cache
        )
        if self.static_cache and self.model.config._attn_implementation == "sdpa":
            register_decode_attention()
            self.model.set_attn_implementation(DECODE_ATTENTION)
        forward = inspect.signature(self.model.forward).parameters
        # transformers 5 renamed `past_key_values` to `cache` (the old name is deprecated)
        self._cache_argument = "cache" if "cache" in forward else "past_key_values"

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` by this model's tokenizer (no special tokens). Before the weights
        are loaded, the tokenizer is loaded alone, so that prompts can be sized without
        loading a model that the run store may never need."""
        tokenizer = self.tokenizer or self._counting_tokenizer
        if tokenizer is None:
            from transformers import AutoTokenizer

            from ditto.models.huggingface import loadable_source

            try:
                tokenizer = self._counting_tokenizer = AutoTokenizer.from_pretrained(loadable_source(self.name))
            except OSError as exc:
                first_line = (str(exc).strip().splitlines() or [repr(exc)])[0]
                raise DittoError(f"--model {self.name}: cannot load its tokenizer ({first_line})") from None
        return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def render(self, messages: Sequence[Message]) -> list[int]:
        """Token ids of the prompt, through the tokenizer's own chat template."""
        from jinja2.exceptions import TemplateError

        self.load()
        dicts = [m.model_dump() for m in messages]
        try:
            text = self.tokenizer.apply_chat_template(
                dicts, tokenize=False, add_generation_prompt=True
            )
        except TemplateError:
            merged = [m.model_dump() for m in merge_system_into_first_user(messages)]
            text = self.tokenizer.apply_chat_template(
                merged, tokenize=False, add_generation_prompt=True
            )
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def generate(self, requests: Sequence[ChatRequest]) -> Iterator[tuple[int, Completion]]:
        if not requests:
            return
        self.load()
        prompts = [self.render(r.messages) for r in requests]
        groups: dict[SamplingParams, list[int]] = defaultdict(list)
        for index, request in enumerate(requests):
            groups[request.params.model_copy(update={"seed": None})].append(index)
        for params, indices in groups.items():
            indices.sort(key=lambda i: len(prompts[i]))
            for start in range(0, len(indices), self.batch_size):
                batch = indices[start : start + self.batch_size]
                seeds = [requests[i].params.seed for i in batch]
                schemas = [requests[i].response_schema for i in batch]
                completions = self._generate_batch([prompts[i] for i in batch], params, seeds, schemas)
                yield from zip(batch, completions)

    def stream(self, request: ChatRequest) -> Generator[str, None, Completion]:
        """The reply to one request in pieces of text, each yielded as soon as it is sure to
        begin what is left of the final text; the generator returns (`completion = yield from
        model.stream(request)`) the Completion that `generate` gives the request alone: the
        same tokens, finish reason and usage, and a text equal to the pieces joined.

        Generation runs through the batch code in this model's one streaming thread (one, so
        that CUDA graphs, which torch keeps per thread, are recorded once); an error there is
        raised here, and a reader that stops early (Ctrl-C) stops it at its next step."""
        self.load()
        prompt = self.render(request.messages)
        params = request.params
        tokens, cancel = TokenQueue(), threading.Event()
        if self._stream_thread is None:
            self._stream_thread = ThreadPoolExecutor(1, thread_name_prefix="ditto-stream")
        future = self._stream_thread.submit(
            self._generate_batch, [prompt], params, [params.seed], [request.response_schema],
            streamer=tokens, cancel=cancel,
        )
        future.add_done_callback(lambda _: tokens.end())  # also when it failed
        shown, generated = "", []
        try:
            for token in tokens:
                if token is None:  # a (re)start: its tokens come from the beginning
                    generated = []
                    continue
                generated.append(token)
                ready = self._text_so_far(generated, params)
                if len(ready) > len(shown) and ready.startswith(shown):
                    yield ready[len(shown) :]
                    shown = ready
        finally:
            cancel.set()
            wait([future])
        [completion] = future.result()  # the streaming thread's error, if any, raised here
        if len(completion.text) > len(shown) and completion.text.startswith(shown):
            yield completion.text[len(shown) :]
        return completion

    def _text_so_far(self, tokens: list[int], params: SamplingParams) -> str:
        """The part of a reply in progress that its final text is sure to begin with: short
        of trailing whitespace (the final text is stripped), an unfinished UTF-8 character,
        and a possible start of a stop string."""
        _, text, _ = self._reply(tokens, params)
        text = text.lstrip()
        text = text[: len(text) - stop_prefix_length(text, params.stop)]
        while text and (text[-1].isspace() or text[-1] == "\ufffd"):
            text = text[:-1]
        return text

    def structured_outputs(self, store=None) -> bool:
        """Whether requests with a form carry their schema (module `structured`): locally the
        grammar engine enforces it, so with --structured auto or on, yes, once the engine
        imports ("auto" falls back to free text with a notice when it is not installed, "on"
        stops). `store` is unused: there is no endpoint to probe."""
        if self.structured == "off":
            return False
        from ditto.models.grammar import import_engine

        try:
            import_engine()
        except DittoError as exc:
            if self.structured == "on":
                raise
            from rich.console import Console

            Console(stderr=True).print(f"structured outputs: {exc}; answers are read as free text",
                                       markup=False, highlight=False)
            return False
        return True

    def grammars(self):
        """This model's grammar engine (`ditto.models.grammar`), built at its first use."""
        if self._grammars is None:
            from ditto.models.grammar import Grammars

            vocab_size = self.model.get_output_embeddings().weight.shape[0]
            self._grammars = Grammars(self.tokenizer, self.eos_token_ids, vocab_size)
        return self._grammars

    def _generation_kwargs(
        self,
        params: SamplingParams,
        seeds: Sequence[int | None],
        schemas: Sequence[ResponseSchema | None] = (),
    ) -> dict:
        """`generate`'s arguments for a batch with one row per seed (more rows are fillers):
        the same for batches and streams. Sampling is `SeededSampler`'s, so `generate` itself
        decodes greedily either way. Rows with a response schema are masked to their grammar
        first (`GrammarProcessor`), so that the draw only sees allowed tokens."""
        from transformers import LogitsProcessorList

        kwargs = {
            "max_new_tokens": params.max_tokens,
            "do_sample": False,
            "temperature": None,
            "top_p": None,
            "top_k": None,
            "repetition_penalty": None,  # the model's own is applied per row (`_add_penalty`)
            "eos_token_id": self.eos_token_ids,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        kwargs["logits_processor"] = LogitsProcessorList()
        if any(schema is not None for schema in schemas):
            kwargs["logits_processor"].append(self.grammars().processor(schemas))
        if params.temperature > 0:
            kwargs["logits_processor"].append(SeededSampler(params, seeds, self.device))
        if params.stop:
            kwargs.update(stop_strings=list(params.stop), tokenizer=self.tokenizer)
        return kwargs

    def _generate_batch(
        self,
        prompts: list[list[int]],
        params: SamplingParams,
        seeds: list[int | None],
        schemas: list[ResponseSchema | None] | None = None,
        *,
        streamer: TokenQueue | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Completion]:
        """One batch through `generate`; `schemas[i]`, when given, the response schema of
        row i. `streamer` gets the first row's tokens as they come; once `cancel` is set, the
        batch stops at its next step."""
        import torch
        from transformers import StoppingCriteriaList

        schemas = schemas or [None] * len(prompts)
        kwargs = self._generation_kwargs(params, seeds, schemas)
        kwargs["stopping_criteria"] = StoppingCriteriaList([Cancelled(cancel)] if cancel else [])
        if streamer is not None:
            kwargs["streamer"] = streamer
        if not self.static_cache:
            padded = self.tokenizer.pad({"input_ids": prompts}, return_tensors="pt").to(self.device)
            self._add_penalty(params, padded["attention_mask"], kwargs)
            with torch.inference_mode():
                output = self.model.generate(**padded, **kwargs)
        else:
            try:
                padded = self._static_inputs(prompts, params, kwargs)
                self._add_penalty(params, padded["attention_mask"], kwargs)
                # the reused static cache is made under no_grad, as in transformers' own
                # generate: a tensor made in inference mode cannot be reset outside it
                with torch.no_grad():
                    output = self.model.generate(**padded, **kwargs)
            except (RuntimeError, TypeError, ValueError) as exc:
                # The compiled path depends on torch and transformers versions ditto cannot
                # all test; a failure there must cost speed, not the run.
                warnings.warn(f"static-cache generation failed ({type(exc).__name__}: {exc}); "
                              "generating without it from now on", stacklevel=2)
                self.static_cache = False
                self._cache = self._cache_shape = None
                if self.model.config._attn_implementation == DECODE_ATTENTION:
                    self.model.set_attn_implementation("sdpa")
                return self._generate_batch(
                    prompts, params, seeds, schemas, streamer=streamer, cancel=cancel
                )
        new_tokens = output[: len(prompts), padded["input_ids"].shape[1] :].tolist()
        return [
            self._completion(tokens, len(prompt), params, schema)
            for tokens, prompt, schema in zip(new_tokens, prompts, schemas)
        ]

    def repetition_penalty(self, params: SamplingParams) -> float | None:
        """The request's penalty; unset, the model's own (its generation config's, as
        `generate` and vLLM would apply it); None when there is none to apply."""
        penalty = params.repetition_penalty
        if penalty is None:
            penalty = getattr(self.model.generation_config, "repetition_penalty", None)
        return None if penalty is None or penalty == 1.0 else penalty

    def _add_penalty(self, params: SamplingParams, attention_mask, kwargs: dict) -> None:
        """Put `RowRepetitionPenalty` first among the logits processors (before sampling,
        where `generate` puts its own) for a left-padded batch with this attention mask."""
        penalty = self.repetition_penalty(params)
        if penalty is not None:
            pads = attention_mask.shape[1] - attention_mask.sum(dim=1)
            kwargs["logits_processor"].insert(0, RowRepetitionPenalty(penalty, pads))

    def _static_inputs(self, prompts: list[list[int]], params: SamplingParams, kwargs: dict):
        """The bucketed batch; the reused static cache, and a criterion marking the filler
        rows finished, added to `kwargs`."""
        import torch
        from transformers import StaticCache

        input_ids, attention_mask = bucket_batch(
            prompts, self.batch_size, self.tokenizer.pad_token_id
        )
        rows, width = len(input_ids), len(input_ids[0])
        shape = (rows, width + round_up(params.max_tokens, BUCKET))
        if shape == self._cache_shape:
            self._cache.reset()
        else:  # a new shape: a new cache (and, on CUDA, a new graph to record)
            self._cache = None  # the old one freed before the new one is allocated
            self._cache = StaticCache(config=self.model.config, max_cache_len=shape[1])
            self._cache_shape = shape
        kwargs[self._cache_argument] = self._cache
        done = torch.arange(rows, device=self.device) >= len(prompts)
        kwargs["stopping_criteria"].append(RowsDone(done))
        return {
            "input_ids": torch.tensor(input_ids, device=self.device),
            "attention_mask": torch.tensor(attention_mask, device=self.device),
        }

    def _reply(self, tokens: list[int], params: SamplingParams) -> tuple[list[int], str, str]:
        """(tokens through the first end of turn, their text cut at the first stop string,
        finish reason) of generated tokens."""
        finish_reason = "length"
        for position, token in enumerate(tokens):
            if token in self.eos_token_ids:
                tokens, finish_reason = tokens[: position + 1], "stop"
                break
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        for stop in params.stop:
            if stop in text:
                text, finish_reason = text[: text.index(stop)], "stop"
        return tokens, text, finish_reason

    def _completion(
        self, tokens: list[int], prompt_len: int, params: SamplingParams, schema: ResponseSchema | None = None
    ) -> Completion:
        tokens, text, finish_reason = self._reply(tokens, params)
        usage = Usage(prompt_tokens=prompt_len, completion_tokens=len(tokens))
        structured = None if schema is None else "enforced"
        return Completion(
            text=text.strip(), finish_reason=finish_reason, usage=usage, endpoint="local", structured=structured
        )

    def close(self) -> None:
        if self._stream_thread is not None:
            self._stream_thread.shutdown()
        self.model = self.tokenizer = self._cache = self._cache_shape = self._stream_thread = None
        self._counting_tokenizer = self._grammars = None
