"""Grammar engines for the local backend's constrained decoding: xgrammar against llguidance,
measured on the builtin model (SmolLM2-135M-Instruct) on CPU.

For each engine:
1. install weight: the installed size of the engine's distribution and of what it pulls in
   beyond ditto's own dependencies (`importlib.metadata` RECORD sizes), and its import time
   in a fresh interpreter, alone and after torch + transformers (which ditto loads anyway);
2. setup: the tokenizer's view for the engine (`Grammars(...)`, once per model);
3. compile: a judge schema (`analysis` string maxLength 600, then `role` enum of 4 names,
   no other property) and a query schema (`questions`: exactly 3 strings of 4-300
   characters), each cold (a schema text not seen before; median of 5), and the first
   mask computed after it (llguidance compiles lazily, so part of its work lands there);
4. per-step mask: one matcher walked along a valid answer token by token, each mask timed;
5. correctness: hand-written answers (hostile enum values with quotes, brackets, newlines,
   backslashes and 500 characters; strings at and past maxLength, with escapes and
   multi-byte characters; arrays of 2-4 items) fed token by token: does the engine accept
   exactly what `jsonschema` accepts? Property order and compact whitespace are enforced by
   design (rejections there are listed apart);
6. end to end: 16 requests at batch 8, max_tokens 256, seeded, temperature 0.7, top_p 0.95,
   through `TransformersModel.generate` with the engine's `GrammarProcessor`, against the
   same 16 requests without a schema; every answer validated with `jsonschema`. Judge and
   query prompts run apart; the processor's own time is measured per decoding step.

Both engines write compact JSON: xgrammar `any_whitespace=False, separators=(",", ":")`,
llguidance `whitespace_flexible: false` with the same separators.

    .venv/bin/python benchmarks/grammar_engines.py [--requests 16] [--max-tokens 256]

writes benchmarks/results/grammar_engines.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from ditto.models.grammar import Grammars  # noqa: E402
from ditto.types import ChatRequest, Message, ResponseSchema, SamplingParams  # noqa: E402

NAMES = ["Sherlock Holmes", "Elizabeth Bennet", "Captain Ahab", "Hermione Granger"]
HOSTILE = [
    'Bob "the builder"',
    "[Carol]\n{x}",
    "Dave \\ the \t back\\slash",
    ('Z "quoted" [bracket] {brace}\nnew line \\ back ' * 12)[:500],
]


def judge_schema(names) -> dict:
    return {
        "type": "object",
        "properties": {"analysis": {"type": "string", "maxLength": 600}, "role": {"enum": list(names)}},
        "required": ["analysis", "role"],
        "additionalProperties": False,
    }


def query_schema(k: int = 3) -> dict:
    return {
        "type": "object",
        "properties": {
            "questions": {
                "type": "array",
                "items": {"type": "string", "minLength": 4, "maxLength": 300},
                "minItems": k,
                "maxItems": k,
            }
        },
        "required": ["questions"],
        "additionalProperties": False,
    }


class XGrammars(Grammars):
    """`Grammars` with xgrammar as its engine (the class's engine part overridden)."""

    def _setup(self, tokenizer) -> int:
        import xgrammar

        self._engine = xgrammar
        info = xgrammar.TokenizerInfo.from_huggingface(
            tokenizer, vocab_size=self.vocab_size, stop_token_ids=list(self.eos_token_ids)
        )
        threads = os.cpu_count() or 1
        self._compiler = xgrammar.GrammarCompiler(info, max_threads=threads, cache_enabled=False)
        self._batch = xgrammar.BatchGrammarMatcher(max_threads=threads)
        return info.vocab_size

    def _compile(self, schema: ResponseSchema):
        return self._compiler.compile_json_schema(
            schema.text, any_whitespace=False, separators=(",", ":"), strict_mode=True
        )

    def _start(self, compiled):
        return self._engine.GrammarMatcher(compiled)

    def _consume(self, matcher, token: int) -> bool:
        return matcher.accept_token(token)

    def _stopped(self, matcher) -> bool:
        return matcher.is_terminated()

    def _fill(self, matchers, bitmask) -> None:
        if matchers:
            import torch

            self._batch.batch_fill_next_token_bitmask(
                [m for m, _ in matchers], torch.from_numpy(bitmask), indices=[i for _, i in matchers]
            )


ENGINES = {"xgrammar": XGrammars, "llguidance": Grammars}


# --- install weight ----------------------------------------------------------------------------


def requirement_closure(name: str) -> set[str]:
    """Installed distributions `name` needs, itself included (markers evaluated, no extras)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen, todo = set(), [name]
    while todo:
        current = canonicalize_name(todo.pop())
        if current in seen:
            continue
        try:
            dist = metadata.distribution(current)
        except metadata.PackageNotFoundError:
            continue
        seen.add(current)
        for line in dist.requires or ():
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def installed_mb(name: str) -> float:
    dist = metadata.distribution(name)
    return sum(f.size or 0 for f in dist.files or ()) / 1e6


def import_seconds(module: str, after: str = "") -> float:
    code = f"import time{', ' + after if after else ''}; t = time.perf_counter(); import {module}; " \
        "print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def install_weight(engine: str) -> dict:
    ours = requirement_closure("ditto-roleplay")
    extra = sorted(requirement_closure(engine) - ours - {engine})
    return {
        "version": metadata.version(engine),
        "installed_mb": round(installed_mb(engine), 1),
        "extra_deps": {name: round(installed_mb(name), 1) for name in extra},
        "total_added_mb": round(installed_mb(engine) + sum(installed_mb(n) for n in extra), 1),
        "import_s_fresh": round(import_seconds(engine), 2),
        "import_s_after_torch_transformers": round(import_seconds(engine, "torch, transformers"), 2),
    }


# --- compile and mask ----------------------------------------------------------------------------


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def compile_times(grammars: Grammars, make_schema, variants) -> dict:
    """Cold compile (a new schema text each time, so no cache helps) and the first mask."""
    import numpy as np

    compile_s, first_mask_s = [], []
    for variant in variants:
        schema = ResponseSchema.of("bench", make_schema(variant))
        start = time.perf_counter()
        compiled = grammars._compile(schema)
        compile_s.append(time.perf_counter() - start)
        matcher = grammars._start(compiled)
        bitmask = np.zeros((1, -(-grammars.mask_size // 32)), dtype=np.int32)
        start = time.perf_counter()
        grammars._fill([(matcher, 0)], bitmask)
        first_mask_s.append(time.perf_counter() - start)
    return {"compile_ms": ms(statistics.median(compile_s)), "first_mask_ms": ms(statistics.median(first_mask_s))}


def step_times(grammars: Grammars, tokenizer, schema: dict, answer: str) -> dict:
    """One matcher walked along `answer`: the time of each mask and each advance."""
    import numpy as np

    matcher = grammars.matcher(ResponseSchema.of("bench", schema))
    bitmask = np.zeros((1, -(-grammars.mask_size // 32)), dtype=np.int32)
    masks, advances = [], []
    for token in tokenizer.encode(answer, add_special_tokens=False):
        start = time.perf_counter()
        grammars._fill([(matcher, 0)], bitmask)
        masks.append(time.perf_counter() - start)
        start = time.perf_counter()
        assert grammars._consume(matcher, token), f"the walk's answer was rejected at {token}"
        advances.append(time.perf_counter() - start)
    masks.sort()
    return {
        "steps": len(masks),
        "mask_us_mean": round(statistics.mean(masks) * 1e6, 1),
        "mask_us_p50": round(masks[len(masks) // 2] * 1e6, 1),
        "mask_us_max": round(masks[-1] * 1e6, 1),
        "advance_us_mean": round(statistics.mean(advances) * 1e6, 1),
    }


def accepts(grammars: Grammars, tokenizer, schema: dict, document: str) -> bool:
    """Whether the engine takes `document` (as the tokenizer splits it) and then an end of turn."""
    import numpy as np

    matcher = grammars.matcher(ResponseSchema.of("bench", schema))
    for token in tokenizer.encode(document, add_special_tokens=False):
        if not grammars._consume(matcher, token):
            return False
    if grammars._stopped(matcher):
        return True
    bitmask = np.zeros((1, -(-grammars.mask_size // 32)), dtype=np.int32)
    grammars._fill([(matcher, 0)], bitmask)
    eos = grammars.eos_token_ids[0]
    return bool((int(bitmask[0, eos // 32]) >> (eos % 32)) & 1)


def correctness_cases() -> list[tuple[str, dict, str, bool]]:
    """(label, schema, document, by_design): by_design cases are valid JSON under the schema
    that the compact, ordered grammar rejects on purpose."""
    judge = judge_schema(HOSTILE)

    def doc(analysis, role, **kw):
        return json.dumps({"analysis": analysis, "role": role}, ensure_ascii=kw.get("ascii", False),
                          separators=(",", ":"))

    cases = [(f"role = hostile #{i} ({len(v)} chars)", judge, doc("ok", v), False) for i, v in enumerate(HOSTILE)]
    cases += [
        ("role = hostile #0, \\u-escaped quotes", judge, doc("ok", HOSTILE[0]).replace('\\"', "\\u0022"), False),
        ("role = hostile #3, ascii escapes", judge, doc("ok", HOSTILE[3], ascii=True), False),
        ("role = prefix of hostile #3", judge, doc("ok", HOSTILE[3][:499]), False),
        ("role = hostile #3 + 1 char", judge, doc("ok", HOSTILE[3] + "x"), False),
        ("role = 'bob \"the builder\"' (case)", judge, doc("ok", 'bob "the builder"'), False),
        ("analysis = ''", judge, doc("", HOSTILE[1]), False),
        ("analysis = 600 x", judge, doc("x" * 600, HOSTILE[1]), False),
        ("analysis = 601 x", judge, doc("x" * 601, HOSTILE[1]), False),
        ("analysis = 600 chars with \\\" \\n \\\\ escapes", judge, doc(('a"b\nc\\d' * 100)[:600], HOSTILE[1]), False),
        ("analysis = 601 chars with escapes", judge, doc(('a"b\nc\\d' * 100)[:601], HOSTILE[1]), False),
        ("analysis = 600 x 'é' (2 bytes)", judge, doc("é" * 600, HOSTILE[1]), False),
        ("analysis = 601 x 'é'", judge, doc("é" * 601, HOSTILE[1]), False),
        ("analysis = 600 x emoji (4 bytes)", judge, doc("😀" * 600, HOSTILE[1]), False),
        ("analysis = 300 x \\u00e9 escapes", judge, doc("é" * 300, HOSTILE[1], ascii=True), False),
        ("extra property", judge, doc("ok", HOSTILE[1])[:-1] + ',"x":1}', False),
        ("role missing", judge, '{"analysis":"ok"}', False),
        ("properties reversed", judge, json.dumps({"role": HOSTILE[1], "analysis": "ok"}, separators=(",", ":")),
         True),
        ("spaces after separators", judge, json.dumps({"analysis": "ok", "role": HOSTILE[1]}), True),
    ]
    query = query_schema(3)

    def questions(items):
        return json.dumps({"questions": items}, ensure_ascii=False, separators=(",", ":"))

    cases += [
        ("3 questions of 4 chars", query, questions(["abcd"] * 3), False),
        ("3 questions of 300 chars", query, questions(["q" * 300] * 3), False),
        ("question with [\"]{}\\n", query, questions(['Is "it" [x] {y}\n?', "abcd", "efgh"]), False),
        ("2 questions", query, questions(["abcd"] * 2), False),
        ("4 questions", query, questions(["abcd"] * 4), False),
        ("a question of 3 chars", query, questions(["abc", "abcd", "abcd"]), False),
        ("a question of 301 chars", query, questions(["q" * 301, "abcd", "abcd"]), False),
        ("a number among questions", query, '{"questions":["abcd",1234,"abcd"]}', False),
    ]
    return cases


def correctness(grammars: Grammars, tokenizer) -> dict:
    import jsonschema

    rows, unsound, overstrict, by_design = [], [], [], []
    for label, schema, document, design in correctness_cases():
        valid = jsonschema.Draft202012Validator(schema).is_valid(json.loads(document))
        taken = accepts(grammars, tokenizer, schema, document)
        rows.append({"case": label, "jsonschema": valid, "engine": taken})
        if taken and not valid:
            unsound.append(label)
        elif valid and not taken:
            (by_design if design else overstrict).append(label)
    return {"cases": len(rows), "unsound": unsound, "overstrict": overstrict, "rejected_by_design": by_design,
            "detail": rows}


# --- end to end ----------------------------------------------------------------------------------

SCENES = [
    "a detective questions a sailor about a missing ring",
    "two friends argue about a ball in the country",
    "a captain describes the whale that took his leg",
    "a student explains a spell to her friends",
    "a maid reports strange noises in the attic",
    "a scientist defends an odd experiment",
    "an old man remembers the war",
    "a thief bargains with a merchant",
]


def judge_requests(n: int, params: SamplingParams, schema: ResponseSchema | None) -> list[ChatRequest]:
    out = []
    for i in range(n):
        scene = SCENES[i % len(SCENES)]
        prompt = (
            f"Here is a line from a story where {scene}:\n\"I have seen such things before, and I will "
            f"not be fooled again.\"\nWhich character most likely said it: {', '.join(NAMES)}?\n"
            'Answer with a JSON object: {"analysis": your reasoning, "role": the name}.'
        )
        out.append(ChatRequest(messages=(Message(role="user", content=prompt),),
                               params=params.model_copy(update={"seed": 1000 + i}), response_schema=schema))
    return out


def query_requests(n: int, params: SamplingParams, schema: ResponseSchema | None) -> list[ChatRequest]:
    out = []
    for i in range(n):
        name = NAMES[i % len(NAMES)]
        prompt = (
            f"You are interviewing {name} in a scene where {SCENES[i % len(SCENES)]}. Write exactly 3 "
            'questions to ask them, as a JSON object: {"questions": ["...", "...", "..."]}.'
        )
        out.append(ChatRequest(messages=(Message(role="user", content=prompt),),
                               params=params.model_copy(update={"seed": 2000 + i}), response_schema=schema))
    return out


class Timed:
    """Sums the time spent in `GrammarProcessor.__call__` and counts decoding steps (calls
    of `SeededSampler`, which every sampled batch has, constrained or not)."""

    def __init__(self) -> None:
        from ditto.models import grammar, transformers_backend

        self.seconds, self.calls, self.steps = 0.0, 0, 0
        self.processor, self.sampler = grammar.GrammarProcessor.__call__, transformers_backend.SeededSampler.__call__
        timed = self

        def processor(processor, input_ids, scores):
            start = time.perf_counter()
            try:
                return timed.processor(processor, input_ids, scores)
            finally:
                timed.seconds += time.perf_counter() - start
                timed.calls += 1

        def sampler(sampler, input_ids, scores):
            timed.steps += 1
            return timed.sampler(sampler, input_ids, scores)

        grammar.GrammarProcessor.__call__ = processor
        transformers_backend.SeededSampler.__call__ = sampler

    def close(self) -> None:
        from ditto.models import grammar, transformers_backend

        grammar.GrammarProcessor.__call__ = self.processor
        transformers_backend.SeededSampler.__call__ = self.sampler


def end_to_end(model, requests: list[ChatRequest], schema: dict) -> dict:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    timed = Timed()
    try:
        start = time.perf_counter()
        results = dict(model.generate(requests))
        seconds = time.perf_counter() - start
    finally:
        timed.close()
    completions = [results[i] for i in range(len(requests))]
    valid = 0
    for completion in completions:
        try:
            valid += validator.is_valid(json.loads(completion.text))
        except json.JSONDecodeError:
            pass
    tokens = sum(c.usage.completion_tokens for c in completions)
    return {
        "wall_s": round(seconds, 2),
        "completion_tokens": tokens,
        "tokens_per_s": round(tokens / seconds, 1),
        "steps": timed.steps,
        "ms_per_step": round(seconds * 1000 / timed.steps, 1),
        "load_avg_1min_after": round(os.getloadavg()[0], 2),
        "valid": f"{valid}/{len(completions)}",
        "cut_at_max_tokens": sum(c.finish_reason == "length" for c in completions),
        "processor_ms_per_step": round(timed.seconds * 1000 / timed.calls, 2) if timed.calls else None,
        "sample": completions[0].text[:300],
    }


# --- the run -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "grammar_engines.json")
    args = parser.parse_args()

    import torch

    from ditto.models.transformers_backend import TransformersModel

    torch.set_num_threads(os.cpu_count() or 1)
    model = TransformersModel("builtin", device="cpu", batch_size=args.batch_size)
    model.load()
    tokenizer = model.tokenizer
    vocab_size = model.model.get_output_embeddings().weight.shape[0]
    params = SamplingParams(max_tokens=args.max_tokens, temperature=0.7, top_p=0.95)
    judge, query = judge_schema(NAMES), query_schema(3)
    walk = {
        "judge": (judge, json.dumps({"analysis": "He speaks of being fooled before, like a man who has "
                                     "hunted something for years. " * 4, "role": NAMES[2]}, separators=(",", ":"))),
        "query": (query, json.dumps({"questions": ["Where were you last night?", "Who gave you the ring?",
                                                   "Why did you hide it from the captain?"]}, separators=(",", ":"))),
    }
    model.generate(judge_requests(2, params.model_copy(update={"max_tokens": 8}), None))  # warm-up
    results = {
        "machine": {"cpu_threads": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
                    "model": "builtin (SmolLM2-135M-Instruct GGUF, float32 CPU)"},
        "settings": {"requests": args.requests, "batch_size": args.batch_size, "max_tokens": args.max_tokens,
                     "temperature": 0.7, "top_p": 0.95},
        "unconstrained": {
            "judge": end_to_end(model, judge_requests(args.requests, params, None), judge),
            "query": end_to_end(model, query_requests(args.requests, params, None), query),
        },
        "engines": {},
    }
    for engine, cls in ENGINES.items():
        print(f"measuring {engine} ...", file=sys.stderr)
        entry = {"install": install_weight(engine)}
        start = time.perf_counter()
        # compact separators for both engines, as this comparison was measured (ditto itself
        # now writes json.dumps's ", " and ": ", `grammar.SEPARATORS`)
        grammars = cls(tokenizer, model.eos_token_ids, vocab_size, separators=(",", ":"))
        entry["setup_ms"] = ms(time.perf_counter() - start)
        variants = [[f"{name} {v}" for name in NAMES] for v in range(5)]
        entry["compile"] = {
            "judge": compile_times(grammars, judge_schema, variants),
            "query": compile_times(grammars, lambda v: {**query_schema(3), "title": str(v)}, range(5)),
        }
        entry["step"] = {name: step_times(grammars, tokenizer, schema, answer)
                         for name, (schema, answer) in walk.items()}
        entry["correctness"] = correctness(grammars, tokenizer)
        model._grammars = grammars  # the backend's engine, for the runs below
        entry["generate"] = {
            "judge": end_to_end(model, judge_requests(args.requests, params, ResponseSchema.of("judge", judge)),
                                judge),
            "query": end_to_end(model, query_requests(args.requests, params, ResponseSchema.of("query", query)),
                                query),
            "judge_hostile_enum": end_to_end(
                model,
                judge_requests(args.batch_size, params, ResponseSchema.of("hostile", judge_schema(HOSTILE))),
                judge_schema(HOSTILE),
            ),
        }
        model._grammars = None
        results["engines"][engine] = entry
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print_table(results)
    print(f"\nwritten: {args.out}")


def print_table(results: dict) -> None:
    engines = results["engines"]
    names = list(engines)
    free = results["unconstrained"]

    def row(label, values):
        print(f"{label:<42}" + "".join(f"{v!s:>18}" for v in values))

    row("", names)
    row("version", [engines[n]["install"]["version"] for n in names])
    row("installed MB (engine)", [engines[n]["install"]["installed_mb"] for n in names])
    row("extra deps", [", ".join(engines[n]["install"]["extra_deps"]) or "none" for n in names])
    row("total added MB", [engines[n]["install"]["total_added_mb"] for n in names])
    row("import s (fresh / after torch+tf)",
        [f"{engines[n]['install']['import_s_fresh']} / {engines[n]['install']['import_s_after_torch_transformers']}"
         for n in names])
    row("setup ms (tokenizer info)", [engines[n]["setup_ms"] for n in names])
    for schema in ("judge", "query"):
        row(f"compile ms, {schema} (+ first mask)",
            [f"{engines[n]['compile'][schema]['compile_ms']} + {engines[n]['compile'][schema]['first_mask_ms']}"
             for n in names])
        row(f"mask us/step, {schema} (mean / max)",
            [f"{engines[n]['step'][schema]['mask_us_mean']} / {engines[n]['step'][schema]['mask_us_max']}"
             for n in names])
    row("correctness: unsound / overstrict",
        [f"{len(engines[n]['correctness']['unsound'])} / {len(engines[n]['correctness']['overstrict'])}"
         f" of {engines[n]['correctness']['cases']}" for n in names])
    for schema in ("judge", "query", "judge_hostile_enum"):
        for key, label in (("wall_s", "wall s"), ("ms_per_step", "ms/step (batch)"), ("valid", "valid"),
                           ("processor_ms_per_step", "processor ms/step (batch)")):
            base = free[schema][key] if schema in free else "-"
            row(f"{schema}: {label} (free: {base})", [engines[n]["generate"][schema][key] for n in names])
    for n in names:
        for kind in ("unsound", "overstrict", "rejected_by_design"):
            if engines[n]["correctness"][kind]:
                print(f"{n} {kind}: {engines[n]['correctness'][kind]}")


if __name__ == "__main__":
    main()
