"""Local generation with Hugging Face transformers: a hub id, a local directory, a GGUF file,
or the embedded default; a directory holding a PEFT adapter (what `ditto train` saves) is
loaded onto its base model, named in the directory, and merged for speed.

Requests are grouped by sampling settings, sorted by prompt length and generated in
left-padded batches, so that little compute goes to padding. bf16 on CUDA, float32 on CPU.

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

import hashlib
import json
import warnings
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path

from ditto.errors import DittoError
from ditto.models.builtin import BUILTIN_NAME, builtin_gguf_path
from ditto.types import ChatRequest, Completion, Message, SamplingParams, Usage

# End-of-turn markers of common chat templates; generation stops at any that the vocabulary has.
END_OF_TURN_TOKENS = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "</s>")

BUCKET = 64
"""Static-cache batches pad prompt lengths and cache lengths up to a multiple of this."""
MIN_ROWS = 8
"""The fewest rows of a static-cache batch (a group's last batch is padded up to a power of two)."""
DECODE_ATTENTION = "ditto_decode_sdpa"

ADAPTER_CONFIG = "adapter_config.json"
TRAIN_RECORD = "ditto_train.json"
"""Written by `ditto train` beside the weights; its `base_model` is how an adapter finds its
base offline ('builtin', an absolute path or a hub id)."""


def resolve_source(name: str) -> tuple[str, str | None]:
    """Where to load from: (directory or hub id, GGUF file name inside it or None)."""
    if name == BUILTIN_NAME:
        path = builtin_gguf_path()
        return str(path.parent), path.name
    path = Path(name).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise DittoError(f"--model {name}: no such GGUF file")
        return str(path.parent), path.name
    if path.exists():
        return str(path), None
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise DittoError(f"--model {name}: no such model directory")
    return name, None


def adapter_base(source: str) -> str | None:
    """The base model of a directory holding a PEFT adapter, else None."""
    directory = Path(source)
    if not (directory / ADAPTER_CONFIG).is_file():
        return None
    record = directory / TRAIN_RECORD
    if record.is_file():
        base = json.loads(record.read_text(encoding="utf-8")).get("base_model")
    else:  # an adapter trained elsewhere: PEFT records its base itself
        peft_config = json.loads((directory / ADAPTER_CONFIG).read_text(encoding="utf-8"))
        base = peft_config.get("base_model_name_or_path")
    if not base:
        raise DittoError(f"--model {source}: an adapter that does not name its base model")
    return base


def local_fingerprint(source: str, gguf_file: str | None) -> str:
    """Size and modification time of a local model's files, so that a model directory
    rewritten by training does not reuse the old model's cached outputs."""
    root = Path(source)
    if not root.exists():
        return ""
    files = [root / gguf_file] if gguf_file else sorted(p for p in root.iterdir() if p.is_file())
    digest = hashlib.sha256()
    for file in files:
        stat = file.stat()
        digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:12]


def merge_system_into_first_user(messages: Sequence[Message]) -> list[Message]:
    """For chat templates without a system role: the system text opens the first user turn."""
    if not messages or messages[0].role != "system":
        return list(messages)
    system, rest = messages[0], list(messages[1:])
    if rest and rest[0].role == "user":
        rest[0] = Message(role="user", content=f"{system.content}\n\n{rest[0].content}")
        return rest
    return [Message(role="user", content=system.content), *rest]


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
        self.source, self.gguf_file = resolve_source(name)
        self.cache_id = f"transformers:{name}:{local_fingerprint(self.source, self.gguf_file)}"
        self.model, self.tokenizer = model, tokenizer
        if model is not None and tokenizer is not None:
            self._prepare()

    def load(self) -> None:
        if self.model is not None and self.tokenizer is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        base = adapter_base(self.source) if self.gguf_file is None else None
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.source, gguf_file=self.gguf_file)
            if base is None:
                model = AutoModelForCausalLM.from_pretrained(
                    self.source, gguf_file=self.gguf_file, dtype=dtype
                )
            else:
                model = self._load_with_adapter(base, dtype)
            self.model = model.to(device)
        except OSError as exc:
            first_line = (str(exc).strip().splitlines() or [repr(exc)])[0]
            raise DittoError(f"--model {self.name}: cannot load it ({first_line})") from None
        self._prepare()

    def _load_with_adapter(self, base: str, dtype):
        """The base model with this directory's adapter merged in (no per-token LoRA cost);
        the tokenizer, with its chat template and pad token, is the adapter's own."""
        from peft import PeftModel
        from transformers import AutoModelForCausalLM

        source, gguf_file = resolve_source(base)
        model = AutoModelForCausalLM.from_pretrained(source, gguf_file=gguf_file, dtype=dtype)
        if model.get_input_embeddings().num_embeddings < len(self.tokenizer):
            model.resize_token_embeddings(len(self.tokenizer))  # training added a pad token
        return PeftModel.from_pretrained(model, self.source).merge_and_unload()

    def _prepare(self) -> None:
        import inspect

        import transformers

        self.model.eval()
        self.device = str(self.model.device)
        cuda = self.device.startswith("cuda")
        self.batch_size = self._batch_size or (256 if cuda else 8)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.eos_token_ids = self._end_of_turn_ids()
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

    def _end_of_turn_ids(self) -> list[int]:
        ids = {self.tokenizer.eos_token_id}
        configured = self.model.generation_config.eos_token_id
        ids.update(configured if isinstance(configured, list) else [configured])
        vocab = self.tokenizer.get_vocab()
        ids.update(vocab[token] for token in END_OF_TURN_TOKENS if token in vocab)
        return sorted(i for i in ids if i is not None)

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
                completions = self._generate_batch([prompts[i] for i in batch], params, seeds)
                yield from zip(batch, completions)

    def _generate_batch(
        self, prompts: list[list[int]], params: SamplingParams, seeds: list[int | None]
    ) -> list[Completion]:
        import torch

        if any(seed is not None for seed in seeds):
            torch.manual_seed(hash(tuple(seeds)) % (2**31))
        sampling = params.temperature > 0
        kwargs = dict(
            max_new_tokens=params.max_tokens,
            do_sample=sampling,
            eos_token_id=self.eos_token_ids,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        if sampling:
            kwargs.update(temperature=params.temperature, top_p=params.top_p, top_k=0)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if params.stop:
            kwargs.update(stop_strings=list(params.stop), tokenizer=self.tokenizer)
        if not self.static_cache:
            padded = self.tokenizer.pad({"input_ids": prompts}, return_tensors="pt").to(self.device)
            with torch.inference_mode():
                output = self.model.generate(**padded, **kwargs)
        else:
            try:
                padded = self._static_inputs(prompts, params, kwargs)
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
                return self._generate_batch(prompts, params, seeds)
        new_tokens = output[: len(prompts), padded["input_ids"].shape[1] :].tolist()
        return [
            self._completion(tokens, len(prompt), params)
            for tokens, prompt in zip(new_tokens, prompts)
        ]

    def _static_inputs(self, prompts: list[list[int]], params: SamplingParams, kwargs: dict):
        """The bucketed batch, with the reused static cache and filler rows marked finished
        added to `kwargs`."""
        import torch
        from transformers import StaticCache, StoppingCriteriaList

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
        kwargs["stopping_criteria"] = StoppingCriteriaList([RowsDone(done)])
        return {
            "input_ids": torch.tensor(input_ids, device=self.device),
            "attention_mask": torch.tensor(attention_mask, device=self.device),
        }

    def _completion(self, tokens: list[int], prompt_len: int, params: SamplingParams) -> Completion:
        finish_reason = "length"
        for position, token in enumerate(tokens):
            if token in self.eos_token_ids:
                tokens, finish_reason = tokens[: position + 1], "stop"
                break
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        for stop in params.stop:
            if stop in text:
                text, finish_reason = text[: text.index(stop)], "stop"
        usage = Usage(prompt_tokens=prompt_len, completion_tokens=len(tokens))
        return Completion(text=text.strip(), finish_reason=finish_reason, usage=usage)

    def close(self) -> None:
        self.model = self.tokenizer = self._cache = self._cache_shape = None
