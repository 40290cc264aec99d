"""Shared fixtures: the real builtin model, a real llama.cpp server, and the recorded data.

Nothing here is a stand-in: the llama.cpp server is `llama-cpp-python[server]` serving the
same GGUF file as `--model builtin`, started once per test session on 127.0.0.1.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

# A cache of ditto's own for the whole session (and the commands it starts): the builtin
# GGUF is unpacked into it once, as on a fresh machine, and nothing outside it is touched.
if "DITTO_CACHE" not in os.environ:
    os.environ["DITTO_CACHE"] = tempfile.mkdtemp(prefix="ditto-test-cache-")
    atexit.register(shutil.rmtree, os.environ["DITTO_CACHE"], ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(
            "../shared/data not found: the recorded Wikidata/Wikipedia/MT-Bench data lives beside the repository"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def builtin_gguf() -> Path:
    from ditto.models.builtin import builtin_gguf_path

    return builtin_gguf_path()


def die_with_parent() -> None:
    """A pytest killed by its timeout never tears its fixtures down; without this its
    llama.cpp servers would live on and eat the CPU of every later test run (Linux only)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start_llama_server(gguf: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "4096", "--n_threads", str(min(2, os.cpu_count() or 1)), "--flash_attn", "true",
    ]
    log = log_path.open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama.cpp server exited: see {log_path}")
        try:
            httpx.get(f"{base_url}/models", timeout=1.0)
            return process, base_url
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("llama.cpp server did not start in 120 s")


def serve_builtin(gguf: Path, log_dir: Path):
    """A llama.cpp server of the builtin GGUF for one test session, stopped at its end."""
    process, base_url = start_llama_server(gguf, log_dir / "server.log")
    yield base_url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def llama_server(builtin_gguf: Path, tmp_path_factory) -> str:
    """Base URL of a real OpenAI-compatible llama.cpp server running the builtin GGUF."""
    yield from serve_builtin(builtin_gguf, tmp_path_factory.mktemp("llama"))


@pytest.fixture(scope="session")
def second_llama_server(builtin_gguf: Path, tmp_path_factory) -> str:
    """Another server of the same model, for tests of several endpoints and of shards."""
    yield from serve_builtin(builtin_gguf, tmp_path_factory.mktemp("llama2"))


@pytest.fixture(scope="session")
def builtin_model():
    """The embedded SmolLM2-135M-Instruct through the transformers backend, loaded once."""
    from ditto.models.transformers_backend import TransformersModel

    model = TransformersModel("builtin")
    model.load()
    return model


@pytest.fixture(scope="session")
def simulated(tmp_path_factory, llama_server) -> dict:
    """`ditto simulate` of three builtin characters through transient faults, then re-run
    (tests/simulated_run.py): its run directory, what it sent, and its pinned answers. Shared
    by the simulate and eval end-to-end tests; a test that writes to a run copies it first."""
    from tests.simulated_run import simulate_through_faults

    return simulate_through_faults(tmp_path_factory.mktemp("simulate") / "run", llama_server)
