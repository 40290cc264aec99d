"""A scripted OpenAI-compatible server on 127.0.0.1: real HTTP, answers fixed in advance.

Tests whose expected numbers must be exact (the judge's verdicts decide the scores) run the
real code path (the OpenAI backend, retries, the run store, the CLI) against this server,
whose `answer(messages, body)` function returns each reply and its finish reason. Every
request body is kept, so a test can prove what was asked.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Answer = Callable[[list[dict], dict], "str | tuple[str, str]"]


class ScriptedServer:
    def __init__(self, answer: Answer, model: str = "scripted") -> None:
        self.answer = answer
        self.bodies: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._send(200, {"object": "list", "data": [{"id": model, "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                with server.lock:
                    server.bodies.append(body)
                choices = []
                for index in range(body.get("n", 1)):
                    reply = server.answer(body["messages"], body)
                    text, finish = reply if isinstance(reply, tuple) else (reply, "stop")
                    choices.append({"index": index, "finish_reason": finish,
                                    "message": {"role": "assistant", "content": text}})
                usage = {"prompt_tokens": sum(len(m["content"].split()) for m in body["messages"]),
                         "completion_tokens": sum(len(c["message"]["content"].split()) for c in choices)}
                self._send(200, {"id": "x", "object": "chat.completion", "model": model, "choices": choices,
                                 "usage": usage})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
