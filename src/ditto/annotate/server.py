"""Serving the annotation page: on loopback by default, anywhere else only behind a token.

A label page shows model text and writes to the run store, so it is not for the network by
accident: `--host` other than a loopback address is refused without `--token`, and the token
is then needed by every request (app.TokenGate). The run store stays open (and its
directory locked to this process) while the page is served, so labels are committed the
moment they are given and no other ditto process writes there meanwhile.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path

from ditto.annotate.app import Annotation, create_app
from ditto.annotate.sample import Task, annotation_sample
from ditto.errors import DittoError
from ditto.store import RunStore

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token."""
    if not is_loopback(host) and not token:
        raise DittoError(f"--host {host}: a page reachable from other machines needs --token SECRET")
    if token is not None and len(token) < 8:
        raise DittoError("--token: use at least 8 characters")


def check_port(host: str, port: int) -> None:
    """A port already taken is one line now, not a server log after the sample is drawn."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            raise DittoError(f"--port {port}: cannot listen on {host} ({exc.strerror})") from None


def page_url(host: str, port: int, token: str | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def serve(
    run_dir: Path, task: Task, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, sample: int, seed: int,
    annotator: str | None = None, token: str | None = None,
) -> None:
    """Serve the page until interrupted (Ctrl-C)."""
    import uvicorn

    check_exposure(host, token)
    check_port(host, port)
    units = annotation_sample(run_dir, task, sample, seed)
    with RunStore(run_dir) as store:
        annotation = Annotation(store=store, task=task, units=units, annotator=annotator, token=token,
                                description=f"{run_dir} · {task} · sample {len(units)}, seed {seed}")
        print(f"labelling {len(units)} {task} of {run_dir}: open {page_url(host, port, token)}", file=sys.stderr,
              flush=True)
        uvicorn.run(create_app(annotation), host=host, port=port, log_level="warning", access_log=False)
