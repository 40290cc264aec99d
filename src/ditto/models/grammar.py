"""Constrained decoding for the local transformers backend: an answer under a JSON schema.

`Grammars` is built once per model (its tokenizer, end-of-turn ids and logits width) and
compiles schemas with llguidance, keeping the last `CACHE_SIZE` compiled grammars by schema
text. `Grammars.processor` gives `generate` a logits processor for one batch, one schema (or
None) per row: before each draw it sets the logits of every token a constrained row's grammar
does not allow to -inf, so the sampler (`SeededSampler`, or greedy argmax) only ever picks
allowed tokens. A row's mask depends on its own tokens alone, and the sampler still draws one
exponential vector per row and step, so a seeded row gives the same answer whatever its batch.

JSON is written with the separators `json.dumps` uses (", " and ": ") and no other
whitespace: a small model left free to add whitespace tends to loop on newlines until its
tokens run out, and one forced to write compact JSON (`["` with no space) is pushed off the
text it has seen most, which on the builtin model turned 5 of 11 query answers into
garbage inside valid JSON (", Elaborative,"); with these separators, none of 6.

llguidance was chosen over xgrammar by `benchmarks/grammar_engines.py` (figures in
benchmarks/results/grammar_engines.json, builtin model on 2 CPU cores): neither let an invalid
answer through (answers failed only when cut at max_tokens), and decoding cost the same
(about 1.5-2 ms of a 130-150 ms step at batch 8), but llguidance computes a mask in about a
third of the time (~35 us against ~115 us), compiles a schema in 0.3 ms against 9 ms, accepts
escapes in strings with a maxLength (xgrammar's counted strings allow no backslash at all, so
an analysis could not quote a line), and is one 8 MB wheel without dependencies, where
xgrammar pulls Triton and tvm-ffi (about 1 GB) on Linux x86_64.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from ditto.errors import DittoError
from ditto.types import ResponseSchema

PACKAGE = "llguidance"
"""The pip package of the grammar engine."""
CACHE_SIZE = 64
"""Compiled grammars kept per model (least recently used dropped first)."""
SEPARATORS = (", ", ": ")
"""Between items and after keys: `json.dumps`'s own, the JSON a model has seen most."""


def import_engine():
    """The llguidance module, with its Hugging Face tokenizer bridge loaded."""
    try:
        import llguidance
        import llguidance.hf  # noqa: F401  (loads the submodule)
    except ImportError:
        raise DittoError(
            f"a response schema on a local model needs the grammar engine: pip install {PACKAGE}"
        ) from None
    return llguidance


class Grammars:
    """The grammar engine for one model: its tokenizer's view for the engine, and compiled
    grammars cached by schema text. Engine-specific work is in the `_`-methods (setup,
    compile, start a matcher, advance it, fill masks), so that another engine can be tried
    by overriding them (`benchmarks/grammar_engines.py` does, for xgrammar)."""

    def __init__(
        self,
        tokenizer,
        eos_token_ids: Sequence[int],
        vocab_size: int,
        *,
        cache_size: int = CACHE_SIZE,
        separators: tuple[str, str] = SEPARATORS,
    ) -> None:
        """`tokenizer`: the model's (fast) Hugging Face tokenizer; `eos_token_ids`: the
        end-of-turn tokens that may close an answer; `vocab_size`: the width of the model's
        logits, which can differ from the tokenizer's vocabulary (ids the tokenizer lacks
        are never allowed in a constrained row); `separators`: (between items, after keys)."""
        import numpy as np

        self.separators = separators
        self.eos_token_ids = tuple(eos_token_ids)
        self.vocab_size = vocab_size
        self.cache_size = cache_size
        self._cache: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()  # `generate` and the streaming thread may share it
        self.mask_size = self._setup(tokenizer)
        """Tokens covered by the engine's bitmask (the tokenizer's vocabulary)."""
        end = np.zeros(-(-self.mask_size // 32), dtype=np.uint32)
        for token in (t for t in self.eos_token_ids if t < self.mask_size):
            end[token // 32] |= np.uint32(1 << (token % 32))
        self.end_bitmask = end.view(np.int32)
        """The bitmask row that allows an end of turn alone."""

    # --- the engine: llguidance ------------------------------------------------------------

    def _setup(self, tokenizer) -> int:
        llguidance = import_engine()
        self._engine = llguidance
        self._tokenizer = llguidance.hf.from_tokenizer(tokenizer, eos_token=list(self.eos_token_ids))
        self._executor = llguidance.LLExecutor()
        return self._tokenizer.vocab_size

    def _compile(self, schema: ResponseSchema):
        """A matcher at the start of the schema's grammar, never advanced: each row gets a copy."""
        grammar = self._engine.LLMatcher.grammar_from_json_schema(
            schema.text,
            overrides={"whitespace_flexible": False, "item_separator": self.separators[0],
                       "key_separator": self.separators[1]},
        )
        matcher = self._engine.LLMatcher(self._tokenizer, grammar, log_level=0)
        if matcher.is_error():
            first_line = (matcher.get_error().strip().splitlines() or ["unknown error"])[0]
            raise DittoError(f"response schema {schema.name!r}: {PACKAGE} cannot compile it ({first_line})")
        return matcher

    def _start(self, compiled):
        return compiled.deep_copy()

    def _consume(self, matcher, token: int) -> bool:
        return matcher.consume_token(token)

    def _stopped(self, matcher) -> bool:
        """The grammar has reached an end that nothing can extend: only an end of turn is left."""
        return matcher.is_stopped()

    def _fill(self, matchers: list[tuple[object, int]], bitmask) -> None:
        """Each (matcher, i): its allowed tokens into row i of `bitmask` (a C-contiguous
        int32 numpy array, one bit per token, token t being bit t % 32 of word t // 32)."""
        if matchers:  # llguidance.numpy's fill_next_token_bitmask_par, without its asserts
            rows, words = bitmask.shape
            self._executor.unsafe_compute_mask_ptr(matchers, bitmask.ctypes.data, words * 4, rows)

    # --- engine-independent -------------------------------------------------------------------

    def compiled(self, schema: ResponseSchema):
        """The schema's compiled grammar, from the cache when it was compiled lately."""
        with self._lock:
            if schema.text in self._cache:
                self._cache.move_to_end(schema.text)
                return self._cache[schema.text]
        compiled = self._compile(schema)
        with self._lock:
            self._cache[schema.text] = compiled
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return compiled

    def matcher(self, schema: ResponseSchema):
        """A fresh matcher for one answer under `schema`."""
        return self._start(self.compiled(schema))

    def processor(self, schemas: Sequence[ResponseSchema | None]) -> GrammarProcessor:
        return GrammarProcessor(self, schemas)


class GrammarProcessor:
    """`generate`'s logits processor for one batch: row i follows `schemas[i]` (None: free);
    rows past `len(schemas)` (the static-cache path's fillers) are left as they are.

    Each call first advances every constrained row's matcher with the token the row drew last
    (from the second call on), then sets the logits of the tokens its grammar does not allow
    to -inf. A row that drew an end-of-turn token is finished: HF keeps feeding it padding,
    which its matcher never sees, and it is allowed only an end of turn from then on, as is a
    row whose grammar has reached an end. A token the matcher rejects (only possible if
    something after this processor changed the draw) does not stop the batch: that row is
    `violated` and no longer masked, and its answer fails validation downstream."""

    def __init__(self, grammars: Grammars, schemas: Sequence[ResponseSchema | None]) -> None:
        self.grammars = grammars
        self.matchers = {row: grammars.matcher(schema) for row, schema in enumerate(schemas) if schema is not None}
        self.finished: set[int] = set()
        self.violated: set[int] = set()
        self.started = False

    def __call__(self, input_ids, scores):
        import numpy as np
        import torch

        if not self.matchers:
            return scores
        grammars = self.grammars
        if self.started:
            last = input_ids[:, -1].tolist()
            for row, matcher in self.matchers.items():
                if row in self.finished or row in self.violated:
                    continue
                if last[row] in grammars.eos_token_ids:
                    self.finished.add(row)
                elif not grammars._consume(matcher, last[row]):
                    self.violated.add(row)
        self.started = True
        rows = [row for row in self.matchers if row not in self.violated]
        if not rows:
            return scores
        bitmask = np.zeros((len(rows), len(grammars.end_bitmask)), dtype=np.int32)
        to_fill, end_only = [], []
        for i, row in enumerate(rows):
            matcher = self.matchers[row]
            if row in self.finished or grammars._stopped(matcher):
                end_only.append(i)
            else:
                to_fill.append((matcher, i))
        grammars._fill(to_fill, bitmask)
        # an empty mask (an engine in an error state) would leave nothing to draw: end the answer
        end_only.extend(np.flatnonzero(~bitmask.any(axis=1)).tolist())
        bitmask[end_only] = grammars.end_bitmask
        allowed = unpack_bitmask(torch.from_numpy(bitmask).to(scores.device), scores.shape[1])
        if len(rows) == scores.shape[0]:
            return scores.masked_fill(~allowed, float("-inf"))
        index = torch.tensor(rows, device=scores.device)
        masked = scores.clone()
        masked[index] = scores[index].masked_fill(~allowed, float("-inf"))
        return masked


def unpack_bitmask(bitmask, width: int):
    """A bool tensor (rows, width) of an int32 bitmask tensor (rows, words), on its device:
    token t is allowed when bit t % 32 of word t // 32 is set (the engines' layout); tokens
    past the bitmask's 32 * words are not."""
    import torch

    shifts = torch.arange(32, dtype=torch.int32, device=bitmask.device)
    bits = ((bitmask[:, :, None] >> shifts) & 1).bool().reshape(bitmask.shape[0], -1)
    if bits.shape[1] >= width:
        return bits[:, :width]
    return torch.nn.functional.pad(bits, (0, width - bits.shape[1]), value=False)
