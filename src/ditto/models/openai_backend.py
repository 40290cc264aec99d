"""Any OpenAI-compatible chat server: vLLM, SGLang, llama.cpp server, Ollama, OpenAI.

Requests run concurrently on an event loop in a worker thread, at most `concurrency` in
flight. With several base URLs (N vLLM servers, say) each request goes to the endpoint with
the fewest requests in flight, so a slow server gets less and none sits idle. An endpoint
that cannot be reached is set aside for a cool-down that doubles on each failure, its
requests go to the others at once, and it is tried again when the cool-down ends.
Transient failures (429, 5xx, timeouts, resets, bodies cut short) are retried with
exponential backoff and full jitter, waiting at least as long as the server's Retry-After.
The API key is read from the environment and lives only in the request header.
A request with a response schema carries it only to endpoints that were probed and seen to
enforce one (`schema_probe.py`), in the form each takes; the others get free text.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import queue
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import httpx
from rich.console import Console

from ditto.errors import DittoError
from ditto.models.config import BackendConfig
from ditto.models.schema_probe import ProbeResult, probe_endpoint, response_format
from ditto.models.structured import check_mode
from ditto.retry import RetryPolicy, TransientError, parse_retry_after
from ditto.types import ChatRequest, Completion, Usage

API_KEY_VARIABLES = ("DITTO_API_KEY", "OPENAI_API_KEY")
RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


def api_key_from_env() -> str | None:
    for variable in API_KEY_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable]
    return None


COOL_DOWN_S = 1.0
MAX_COOL_DOWN_S = 60.0


@dataclass
class EndpointStats:
    """What the run sent and had to retry, per base URL, for the end-of-run report."""

    sent: dict[str, int] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)

    def count_retry(self, url: str, reason: str) -> None:
        self.retries[url] = self.retries.get(url, 0) + 1
        by_reason = self.reasons.setdefault(url, {})
        by_reason[reason] = by_reason.get(reason, 0) + 1

    def summary(self) -> dict:
        return {
            url: {"sent": self.sent.get(url, 0), "retried": self.retries.get(url, 0),
                  "reasons": self.reasons.get(url, {}), "failed": self.failures.get(url, 0)}
            for url in sorted(set(self.sent) | set(self.retries))
        }


@dataclass
class Endpoint:
    """One base URL and how busy and how healthy it is right now."""

    url: str
    in_flight: int = 0
    down_until: float = 0.0
    cool_down: float = COOL_DOWN_S

    def is_up(self, now: float) -> bool:
        return self.down_until <= now

    def set_aside(self, now: float) -> None:
        self.down_until = now + self.cool_down
        self.cool_down = min(self.cool_down * 2, MAX_COOL_DOWN_S)

    def recovered(self) -> None:
        self.down_until, self.cool_down = 0.0, COOL_DOWN_S


class EndpointDown(TransientError):
    """The endpoint itself failed (refused, reset, timed out): try another one."""


class OpenAIChatModel:
    def __init__(
        self,
        model: str,
        base_urls: Sequence[str],
        *,
        concurrency: int = BackendConfig.concurrency,
        timeout: float = BackendConfig.timeout,
        retry: RetryPolicy | None = None,
        api_key: str | None = None,
        check_reachable: bool = True,
        structured: str = BackendConfig.structured,
    ) -> None:
        if not base_urls:
            raise DittoError("--base-url: at least one URL is needed")
        self.model = model
        self.base_urls = [url.rstrip("/") for url in base_urls]
        self.concurrency = concurrency
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.stats = EndpointStats()
        self.cache_id = f"openai:{model}"
        self._api_key = (api_key if api_key is not None else api_key_from_env() or "").strip() or None
        if self._api_key and any(ord(c) < 32 or ord(c) == 127 for c in self._api_key):
            raise DittoError(f"{' or '.join(API_KEY_VARIABLES)}: the API key holds a control character")
        self.endpoints = [Endpoint(url) for url in self.base_urls]
        self._turn = itertools.count()
        self.structured = check_mode(structured)
        self.probes: dict[str, ProbeResult] = {}
        """What the structured-output probe found per base URL, once per run (this object)."""
        if check_reachable:
            self._check_reachable()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def _redact(self, text: str) -> str:
        """Servers may echo the request headers in an error body; the key must not reach
        a terminal or a log through our error message."""
        return text.replace(self._api_key, "[API key]") if self._api_key else text

    def _check_reachable(self) -> None:
        """Fail before any work when no base URL accepts a connection, naming the URLs.
        A server that accepts but answers slowly (busy generating) counts as reachable."""
        errors = []
        for url in self.base_urls:
            try:
                httpx.get(f"{url}/models", headers=self._headers(), timeout=10.0)
                return
            except httpx.TimeoutException:
                return
            except httpx.HTTPError as exc:
                errors.append(f"{url} ({type(exc).__name__})")
        raise DittoError(f"--base-url: cannot reach {', '.join(errors)}")

    def structured_outputs(self, store=None) -> bool:
        """Whether requests with a form should carry their schema (module `structured`):
        with --structured auto or on, each endpoint is probed once per run directory (the
        result is kept in `store` and reused by a re-run or a resumed run, which so asks
        exactly what it asked before) and gets schemas only if it enforces them; "on" stops
        the run when one does not. True when at least one endpoint enforces."""
        if self.structured == "off":
            return False
        for url in self.base_urls:
            if url not in self.probes:
                recorded = store.latest_probe(self.cache_id, url) if store is not None else None
                if recorded is not None:
                    self.probes[url] = ProbeResult(recorded["form"], recorded["detail"])
                else:
                    self.probes[url] = self._probe(url)
                    if store is not None and self.probes[url].answered:
                        result = self.probes[url]
                        store.record_probe(self.cache_id, url, result.form, result.enforced, result.detail)
                result = self.probes[url]
                if not result.enforced:
                    if self.structured == "on":
                        raise DittoError(
                            f"--structured on: {url} does not enforce JSON schemas ({result.detail}); "
                            "use --structured auto to read its answers as free text"
                        )
                    Console(stderr=True).print(
                        f"structured outputs: {url} does not enforce JSON schemas ({result.detail}); "
                        "its answers are read as free text", markup=False, highlight=False,
                    )
        return any(self.probes[url].enforced for url in self.base_urls)

    def _probe(self, url: str) -> ProbeResult:
        with httpx.Client(headers=self._headers(), timeout=self.timeout) as client:
            for attempt in range(self.retry.max_retries + 1):
                try:
                    return probe_endpoint(client, url, self.model)
                except httpx.HTTPError as exc:
                    failure = f"probe failed: {type(exc).__name__}"
                    if attempt < self.retry.max_retries:
                        time.sleep(self.retry.delay(attempt, None))
        return ProbeResult(None, failure, answered=False)

    def schema_form(self, url: str) -> str | None:
        """The response_format form `url` enforces, probing it first if this run has not."""
        if self.structured == "off":
            return None
        if url not in self.probes:
            self.structured_outputs()
        return self.probes[url].form

    def payload(self, request: ChatRequest, form: str | None = None) -> dict:
        """The request body; with `form`, the request's schema in that form (`schema_probe`)."""
        params = request.params
        body: dict = {
            "model": self.model,
            "messages": [m.model_dump() for m in request.messages],
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None:
            body["seed"] = params.seed
        if params.repetition_penalty is not None:
            # Not an OpenAI parameter: vLLM and SGLang read `repetition_penalty`, llama.cpp's
            # server and llama-cpp-python `repeat_penalty`; each ignores the other name. Left
            # out when unset, so the server keeps its own default (llama-cpp-python's is 1.1).
            body["repetition_penalty"] = params.repetition_penalty
            body["repeat_penalty"] = params.repetition_penalty
        if request.response_schema is not None and form is not None:
            body["response_format"] = response_format(form, request.response_schema)
        return body

    async def _post_once(self, client: httpx.AsyncClient, url: str, body: dict) -> Completion:
        try:
            # httpx's timeout bounds each read; the deadline bounds the whole exchange, so a
            # server trickling its answer a byte at a time cannot hold a request forever.
            response = await asyncio.wait_for(client.post(f"{url}/chat/completions", json=body), self.timeout)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise EndpointDown(f"{type(exc).__name__} from {url}") from None
        except asyncio.TimeoutError:
            raise EndpointDown(f"deadline: no complete answer within {self.timeout:g} s from {url}") from None
        if response.status_code in RETRYABLE_STATUS:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise TransientError(f"HTTP {response.status_code} from {url}", retry_after)
        if response.status_code >= 400:
            detail = self._redact(response.text)[:300].replace("\n", " ")
            raise DittoError(f"{url} refused the request: HTTP {response.status_code} {detail}")
        try:
            data = response.json()
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError):
            raise TransientError(f"malformed response body from {url}") from None
        usage = data.get("usage") or {}
        return Completion(
            text=text.strip(),
            finish_reason=choice.get("finish_reason") or "stop",
            usage=Usage(
                prompt_tokens=usage.get("prompt_tokens") or 0,
                completion_tokens=usage.get("completion_tokens") or 0,
            ),
        )

    def _pick_endpoint(self) -> Endpoint:
        """The endpoint with the fewest requests in flight among those up (ties taken in
        turn); when every endpoint is set aside, the one that comes back first."""
        now = time.monotonic()
        up = [e for e in self.endpoints if e.is_up(now)]
        if not up:
            return min(self.endpoints, key=lambda e: e.down_until)
        turn = next(self._turn)
        count = len(self.endpoints)
        return min(up, key=lambda e: (e.in_flight, (self.endpoints.index(e) - turn) % count))

    async def _complete(self, client: httpx.AsyncClient, request: ChatRequest) -> Completion:
        for attempt in itertools.count():
            endpoint = self._pick_endpoint()
            wait = endpoint.down_until - time.monotonic()
            if wait > 0:  # every endpoint is set aside: wait for the first to come back
                await asyncio.sleep(wait)
            url = endpoint.url
            form = self.schema_form(url) if request.response_schema is not None else None
            body = self.payload(request, form)
            endpoint.in_flight += 1
            self.stats.sent[url] = self.stats.sent.get(url, 0) + 1
            try:
                completion = await self._post_once(client, url, body)
                endpoint.recovered()
                structured = None if request.response_schema is None else ("enforced" if form else "text")
                return completion.model_copy(update={"endpoint": url, "structured": structured})
            except TransientError as exc:
                self.stats.count_retry(url, reason_of(exc))
                if attempt >= self.retry.max_retries:
                    self.stats.failures[url] = self.stats.failures.get(url, 0) + 1
                    raise DittoError(
                        f"model request failed after {attempt + 1} attempts: {exc}"
                    ) from None
                if isinstance(exc, EndpointDown) and len(self.endpoints) > 1:
                    endpoint.set_aside(time.monotonic())
                    if any(e.is_up(time.monotonic()) for e in self.endpoints):
                        continue  # another endpoint takes it now
                await asyncio.sleep(self.retry.delay(attempt, exc.retry_after))
            finally:
                endpoint.in_flight -= 1
        raise AssertionError("unreachable")

    async def _run(self, requests: Sequence[ChatRequest], results: queue.Queue, stop: threading.Event) -> None:
        """`concurrency` workers take the requests in order, each with its own small client.

        One shared httpx client scans every connection of its pool on each request it sends
        and each it finishes (httpcore checks each idle one for expiry), so at 64 connections
        the pool, not the request, was most of the event loop's time (BENCHMARKS.md
        "Pipeline at scale"). A worker's client holds one connection per endpoint, which it
        reuses for every request it sends there."""
        limits = httpx.Limits(max_connections=len(self.endpoints), max_keepalive_connections=len(self.endpoints))
        tls = ssl_context()
        pending = iter(enumerate(requests))

        async def worker() -> None:
            async with httpx.AsyncClient(
                headers=self._headers(), timeout=httpx.Timeout(self.timeout), limits=limits, verify=tls
            ) as client:
                for index, request in pending:
                    if stop.is_set():
                        return
                    results.put((index, await self._complete(client, request)))

        workers = [asyncio.create_task(worker()) for _ in range(min(self.concurrency, len(requests)))]
        if not workers:
            return
        try:
            done, _ = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()  # the first failure, if any
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    def generate(self, requests: Sequence[ChatRequest]) -> Iterator[tuple[int, Completion]]:
        if any(r.response_schema is not None for r in requests):
            self.structured_outputs()  # probe here, not from the event loop
        results: queue.Queue = queue.Queue()
        stop = threading.Event()
        done = object()

        def worker() -> None:
            try:
                asyncio.run(self._run(requests, results, stop))
            except BaseException as exc:  # handed to the consuming thread
                results.put(exc)
            results.put(done)

        thread = threading.Thread(target=worker, name="ditto-http", daemon=True)
        thread.start()
        try:
            while (item := results.get()) is not done:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            thread.join()

    def retry_report(self) -> dict:
        return self.stats.summary()

    def close(self) -> None:
        pass


@functools.lru_cache(maxsize=1)
def ssl_context() -> ssl.SSLContext:
    """The TLS settings httpx would make for each client, made once: loading the CA bundle
    takes milliseconds, and every worker of every batch has a client."""
    return httpx.create_ssl_context()


def reason_of(exc: TransientError) -> str:
    """A short label for the retry report: 'HTTP 429', 'ConnectError', 'malformed body'."""
    message = str(exc)
    if message.startswith("HTTP "):
        return message.split(" from ")[0]
    if message.startswith("malformed"):
        return "malformed body"
    return message.split(" ")[0].rstrip(":")
