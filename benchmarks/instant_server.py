"""An OpenAI-compatible chat server that answers at once, for measuring ditto's own cost.

It does no generation: a request with a JSON schema (`response_format`, either form ditto
sends) gets the smallest valid instance of that schema (so query lists parse, judge verdicts
read, and the structured-output probe sees its schema enforced); any other request gets one
short sentence. An optional fixed latency stands in for a server's generation time. Every
request body it receives is appended, as received, to `--record` (one JSON body per line),
so a bare client can replay exactly what ditto sent.

Plain asyncio streams and HTTP/1.1 keep-alive, no framework: on one core it answers several
thousand requests a second, far more than the client under test sends.

    python benchmarks/instant_server.py --port 8432 --record bodies.jsonl [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import signal
from pathlib import Path

SENTENCE = "I remember that well, and I would rather tell you about my own life."


def instance(schema: dict, seed: int, path: str = "") -> object:
    """The smallest instance of `schema` that ditto's schemas accept; enums take the value
    `seed` picks, strings meet their length bounds, arrays their minimum size."""
    if "enum" in schema:
        values = schema["enum"]
        return values[seed % len(values)]
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        required = schema.get("required", list(properties))
        return {name: instance(properties[name], seed, f"{path}.{name}") for name in required}
    if kind == "array":
        count = schema.get("minItems", 1)
        return [instance(schema.get("items", {}), seed + index, f"{path}[{index}]") for index in range(count)]
    if kind == "integer":
        return schema.get("minimum", 1)
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return True
    text = f"What did you do in the year {1000 + seed % 997} and why did it matter to you?"
    low, high = schema.get("minLength", 0), schema.get("maxLength", 10_000)
    if len(text) < low:
        text = text[:-1] + " " + "then" * ((low - len(text)) // 4 + 1) + "?"
    return text[:high] if len(text) > high else text


def answer(body: dict) -> str:
    """The reply to one request body (module docstring)."""
    form = body.get("response_format") or {}
    schema = (form.get("json_schema") or {}).get("schema") or form.get("schema")
    if schema is None:
        return SENTENCE
    seed = int.from_bytes(hashlib.blake2b(json.dumps(body["messages"]).encode(), digest_size=4).digest(), "big")
    return json.dumps(instance(schema, seed), ensure_ascii=False)


def completion(body: dict) -> bytes:
    text = answer(body)
    prompt_words = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    payload = {
        "id": "instant", "object": "chat.completion", "model": body.get("model", "instant"),
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": prompt_words, "completion_tokens": len(text.split())},
    }
    return json.dumps(payload).encode()


MODELS = json.dumps({"object": "list", "data": [{"id": "instant", "object": "model"}]}).encode()


class InstantServer:
    def __init__(self, record: Path | None, latency_s: float) -> None:
        self.record = open(record, "ab") if record else None
        self.latency_s = latency_s

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
                raw = await reader.readexactly(int(headers.get("content-length", 0)))
                if request_line.startswith("POST"):
                    if self.record is not None:
                        self.record.write(raw + b"\n")
                        self.record.flush()  # visible at once: the benchmark counts lines to kill a run half-way
                    if self.latency_s:
                        await asyncio.sleep(self.latency_s)
                    data = completion(json.loads(raw))
                else:
                    data = MODELS
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                             + str(len(data)).encode() + b"\r\n\r\n" + data)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def serve(self, port: int) -> None:
        server = await asyncio.start_server(self.handle, "127.0.0.1", port, backlog=1024)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with server:
            await stop.wait()
        if self.record is not None:
            self.record.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", type=Path, help="Append every request body here, one per line.")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="Wait this long before each answer.")
    args = parser.parse_args()
    asyncio.run(InstantServer(args.record, args.latency_ms / 1000).serve(args.port))


if __name__ == "__main__":
    main()
