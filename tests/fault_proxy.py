"""A fault-injecting HTTP proxy on 127.0.0.1 for tests of retries and resilience.

It forwards to a real upstream server, but the first requests it sees are answered by a
script of faults: 429 with Retry-After, 500, a stall past the client's timeout, a reset
connection, a body cut short, bad JSON, the real answer late or trickled out a byte at a time. It counts what it received so tests can prove what was sent.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        faults: list[str] | None = None,
        stall_seconds: float = 5.0,
        trickle_seconds: float = 0.05,
        port: int = 0,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.faults = list(faults or [])
        self.stall_seconds = stall_seconds
        self.trickle_seconds = trickle_seconds
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
                with proxy.lock:
                    proxy.posts += 1
                    proxy.bodies.append(body)
                    fault = proxy.faults.pop(0) if proxy.faults else None
                if fault is None:
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

            def _reply(self, status: int, body: bytes, headers: dict | None = None) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _upstream(self, method: str, body: bytes) -> httpx.Response:
                return httpx.request(
                    method,
                    proxy.upstream + self.path.removeprefix("/v1"),
                    content=body,
                    headers={"content-type": "application/json"},
                    timeout=120,
                )

            def _forward(self, method: str, body: bytes) -> None:
                response = self._upstream(method, body)
                self._reply(response.status_code, response.content)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
