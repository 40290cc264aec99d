"""A fault-injecting HTTP proxy on 127.0.0.1 for tests of retries and resilience.

It forwards to a real upstream server, but the first requests it sees are answered by a
script of faults: 429 with Retry-After, 500, a stall past the client's timeout, a reset
connection, a body cut short, bad JSON, the real answer late or trickled out a byte at a time.

Given a `memory` (a dict, which several proxies may share), it also pins answers: the first
answer to a request body is kept, and the same body later gets that answer again without
reaching the server. llama.cpp's answers depend slightly on what the server did before
(its prompt cache is reused from the previous request): one greedy request was answered
"... my home. I've grown" by a fresh server and "... I've lived" by one that had served a
few dozen others. Pinned answers make "equal to another run" a property of ditto alone.
It counts what it received so tests can prove what was sent.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from ditto.models.schema_probe import is_probe


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        faults: list[str] | None = None,
        stall_seconds: float = 5.0,
        trickle_seconds: float = 0.05,
        port: int = 0,
        memory: dict[str, tuple[int, bytes]] | None = None,
        repeat_delay: float = 0.0,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.faults = list(faults or [])
        self.stall_seconds = stall_seconds
        self.trickle_seconds = trickle_seconds
        self.memory = memory
        self.repeat_delay = repeat_delay
        self.posts = 0
        self.forwarded_posts = 0
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self._forward("GET", b"")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                probe = is_probe(json.loads(body))
                with proxy.lock:
                    proxy.posts += 1
                    proxy.bodies.append(body)
                    # the planned faults are for the run's model requests: a structured-output
                    # probe (once per new endpoint) passes untouched and takes none of them
                    fault = proxy.faults.pop(0) if proxy.faults and not probe else None
                if fault is None and proxy.memory is not None:
                    self._pinned(body)
                elif fault is None:
                    with proxy.lock:
                        proxy.forwarded_posts += 1
                    self._forward("POST", body)
                else:
                    self._fault(fault, body)

            def _fault(self, fault: str, body: bytes) -> None:
                if fault == "429":
                    self._reply(429, b'{"error": "rate limited"}', {"Retry-After": "1"})
                elif fault == "500":
                    self._reply(500, b'{"error": "boom"}')
                elif fault == "stall":
                    time.sleep(proxy.stall_seconds)
                    self.close_connection = True
                elif fault == "reset":
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.connection.close()
                    self.close_connection = True
                elif fault == "truncate":  # promises more body than it sends, then hangs up
                    cut = b'{"choices": [{"message": {"content": "cut'
                    self.send_response(200)
                    self.send_header("content-length", str(len(cut) + 100))
                    self.end_headers()
                    self.wfile.write(cut)
                    self.wfile.flush()
                    self.close_connection = True
                elif fault == "badjson":
                    self._reply(200, b'{"choices": [{"message": {"content": "cut')
                elif fault == "delay":  # the real answer, stall_seconds late
                    time.sleep(proxy.stall_seconds)
                    with proxy.lock:
                        proxy.forwarded_posts += 1
                    self._forward("POST", body)
                elif fault == "trickle":  # the real answer, one byte per trickle_seconds
                    with proxy.lock:
                        proxy.forwarded_posts += 1
                    response = self._upstream("POST", body)
                    self.send_response(response.status_code)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(response.content)))
                    self.end_headers()
                    try:
                        for byte in response.content:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(proxy.trickle_seconds)
                    except OSError:  # the client gave up waiting
                        self.close_connection = True
                else:
                    raise ValueError(fault)

            def _pinned(self, body: bytes) -> None:
                key = json.dumps(json.loads(body), sort_keys=True)
                with proxy.lock:  # one request at a time, as llama.cpp serves them anyway
                    answer = proxy.memory.get(key)
                    if answer is None:
                        proxy.forwarded_posts += 1
                        response = self._upstream("POST", body)
                        answer = response.status_code, response.content
                        if answer[0] == 200:
                            proxy.memory[key] = answer
                    else:
                        time.sleep(proxy.repeat_delay)
                self._reply(*answer)

            def _reply(self, status: int, body: bytes, headers: dict | None = None) -> None:
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up or was killed while waiting
                    self.close_connection = True

            def _upstream(self, method: str, body: bytes) -> httpx.Response:
                return httpx.request(
                    method,
                    proxy.upstream + self.path.removeprefix("/v1"),
                    content=body,
                    headers={"content-type": "application/json"},
                    timeout=600,  # as the client: a slow upstream under load is no fault of the proxy
                )

            def _forward(self, method: str, body: bytes) -> None:
                response = self._upstream(method, body)
                self._reply(response.status_code, response.content)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def model_posts(self) -> int:
        """POSTs other than structured-output probes: a run probes each endpoint it has not
        probed before (a proxy is a new endpoint) even when the store answers everything."""
        return sum(not is_probe(json.loads(body)) for body in self.bodies)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def start(self) -> FaultProxy:
        return self.__enter__()

    def close(self) -> None:
        self.__exit__()

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
