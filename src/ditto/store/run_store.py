"""A run directory holds one SQLite database (WAL) recording every model request and result.

Each result is committed within a few milliseconds of arriving (in small groups, by
`result_writer.py`), under a key that hashes only what changes the output (model, messages,
sampling settings, sample index). Re-running a command finds its results there and sends
nothing; a run killed at any moment restarts from what was committed. One process at a
time: a second one pointed at the same directory is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ditto.errors import DittoError
from ditto.store.labels import StoredLabel, read_labels, save_labels
from ditto.store.migrations import MIGRATIONS, apply_migrations
from ditto.store.result_writer import ResultWriter, connect
from ditto.types import ChatRequest, Completion, Usage

try:
    import fcntl
except ImportError:  # Windows: no advisory lock, the rest works
    fcntl = None

DATABASE_NAME = "store.sqlite"
LOCK_NAME = "lock"


def request_key(cache_id: str, request: ChatRequest) -> str:
    """sha256 of the compact, key-sorted JSON (`ensure_ascii=False`) of {"model": cache_id,
    "messages": [{"role", "content"}...], "params": the sampling settings without `n`,
    "sample_index"} and, for a request with a response schema, "schema": [its name, its
    JSON text] (text, so that its property order, which decides what a constrained model
    writes first, counts). A setting added after stores existed is left out while it keeps
    its neutral value (`repetition_penalty` None, no schema), so that every key made before
    it came stays the same and old run directories keep their results. How an answer is
    parsed is not in the key: stored answers are parsed again by a changed parser."""
    params = request.params.model_dump(exclude={"n"})
    if params["repetition_penalty"] is None:
        del params["repetition_penalty"]
    material = {
        "model": cache_id,
        "messages": [m.model_dump() for m in request.messages],
        "params": params,
        "sample_index": request.sample_index,
    }
    if request.response_schema is not None:
        material["schema"] = [request.response_schema.name, request.response_schema.text]
    encoded = json.dumps(material, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


class RunStore:
    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DittoError(f"--run {run_dir}: cannot create it ({exc.strerror})") from None
        self._lock_file = self._acquire_lock()
        # One process, one user at a time (the lock), but not always one thread: the annotation
        # page's server may answer from another thread than the one that opened the store.
        self.db = connect(self.run_dir / DATABASE_NAME)
        apply_migrations(self.db, MIGRATIONS)
        self._writer = ResultWriter(self.run_dir / DATABASE_NAME)

    def _acquire_lock(self):
        if fcntl is None:
            return None
        handle = open(self.run_dir / LOCK_NAME, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise DittoError(
                f"run directory {self.run_dir} is in use by another ditto process (pid {holder})"
            ) from None
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        return handle

    def get_many(self, keys: list[str]) -> dict[str, Completion]:
        self.flush()
        found: dict[str, Completion] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT key, text, finish_reason, prompt_tokens, completion_tokens, endpoint, structured "
                f"FROM requests WHERE key IN ({marks})",
                chunk,
            )
            for key, text, finish_reason, prompt_tokens, completion_tokens, endpoint, structured in rows:
                found[key] = Completion(
                    text=text,
                    finish_reason=finish_reason,
                    usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens),
                    cached=True,
                    endpoint=endpoint,
                    structured=structured,
                )
        return found

    def put(
        self, key: str, cache_id: str, request: ChatRequest, completion: Completion, latency_s: float
    ) -> None:
        """Queue a result for the next group commit (module docstring); `flush` waits for it."""
        self._writer.add((
            key,
            cache_id,
            request.model_dump_json(),
            request.sample_index,
            completion.text,
            completion.finish_reason,
            completion.usage.prompt_tokens,
            completion.usage.completion_tokens,
            latency_s,
            completion.endpoint,
            completion.structured,
        ))

    def flush(self) -> None:
        """Return once every result put so far is committed."""
        self._writer.flush()

    def record_probe(self, model: str, endpoint: str, form: str | None, enforced: bool, detail: str) -> None:
        """Keep what a structured-output probe of `endpoint` found, for the run's record."""
        self.db.execute(
            "INSERT INTO endpoint_probes (model, endpoint, form, enforced, detail) VALUES (?, ?, ?, ?, ?)",
            (model, endpoint, form, int(enforced), detail),
        )

    def latest_probe(self, model: str, endpoint: str) -> dict | None:
        """The last probe of `endpoint` for `model` in this run directory, or None."""
        found = [p for p in self.probes() if p["model"] == model and p["endpoint"] == endpoint]
        return found[-1] if found else None

    def probes(self) -> list[dict]:
        """Every probe recorded in this run directory, oldest first."""
        rows = self.db.execute(
            "SELECT model, endpoint, form, enforced, detail, created_at FROM endpoint_probes ORDER BY rowid"
        )
        return [
            {"model": m, "endpoint": e, "form": f, "enforced": bool(x), "detail": d, "at": at}
            for m, e, f, x, d, at in rows
        ]

    def save_labels(self, labels: list[StoredLabel]) -> int:
        """Keep people's labels (store/labels.py), replacing a person's earlier value of the same thing."""
        return save_labels(self.db, labels)

    def labels(self, task: str | None = None, annotator: str | None = None) -> list[StoredLabel]:
        """People's labels in this run directory, oldest first, optionally of one task or person."""
        return read_labels(self.db, task, annotator)

    def merge_from(self, other: RunStore) -> tuple[int, int, int]:
        """Copy in every result `other` has and this store lacks, and its probes of endpoints
        this store has not probed, in one transaction.
        Returns (rows added, rows already here, rows here with a different text): the last
        happens only when two machines sampled the same request differently, and the result
        already here is kept so that nothing this run has used changes under it."""
        self.flush()
        other.flush()
        self.db.execute("ATTACH DATABASE ? AS other", (str(other.run_dir / DATABASE_NAME),))
        try:
            self.db.execute("BEGIN")
            present, differing = self.db.execute(
                "SELECT COUNT(*), COALESCE(SUM(o.text != m.text), 0) "
                "FROM other.requests o JOIN main.requests m USING (key)"
            ).fetchone()
            added = self.db.execute(
                "INSERT OR IGNORE INTO main.requests SELECT * FROM other.requests"
            ).rowcount
            # The shards' structured-output probes too, so that the stage re-run on the
            # merged store at the same URL sends nothing, not even a probe.
            self.db.execute(
                "INSERT INTO main.endpoint_probes SELECT * FROM other.endpoint_probes o WHERE NOT EXISTS "
                "(SELECT 1 FROM main.endpoint_probes m WHERE m.model = o.model AND m.endpoint = o.endpoint)"
            )
            self.db.execute("COMMIT")
        finally:
            self.db.execute("DETACH DATABASE other")
        return added, present, differing

    def count(self) -> int:
        self.flush()
        return self.db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]

    def close(self) -> None:
        try:
            self._writer.close()
        finally:
            self.db.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
