"""The annotation page: one unit at a time, every label saved in the run store the moment it is given.

Plain HTML forms (they work without JavaScript) with a few lines of inline script for the
keyboard; no framework and no external asset, so the page works offline and shows nothing
from anywhere else. Routes, per annotator (several can label the same sample at once, each
with their own progress):

    GET  /                       who is labelling (or straight on with --annotator)
    GET  /a/{name}               continue where that person stopped
    GET  /a/{name}/{position}    one unit of the sample (0-based position)
    POST /a/{name}/{position}    its labels; then the next unit, or the rest of this one
    GET  /export.jsonl           every label of the task, the layout `ditto eval agreement` reads

A judged turn is shown in two steps: first the question, the reply and the four candidates,
without the character's name, to ask who is speaking (the name would give the answer away);
once that is saved, the name, the summary and the evidence, to ask for knowledge and
rejection. A person who comes back to a labelled turn sees everything.

Safety: every piece of text is escaped by Jinja's autoescape; the Content-Security-Policy
lets only this response's own inline script and style run (a nonce per response), so a
reply that smuggles markup past an escape still cannot run; each form carries the server
session's token and a post without it, or with anything malformed, gets a 400 and changes
nothing; with `token` set (required off loopback: server.py) every request must carry it,
once in the URL, then in a cookie.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from ditto.annotate.labels import (
    annotators,
    checked_value,
    finished,
    label_record,
    labels_for,
    progress,
    save_posted,
)
from ditto.annotate.sample import Task, Unit
from ditto.chat_files import jsonl_line
from ditto.errors import DittoError
from ditto.store import RunStore

ANNOTATOR = re.compile(r"^[\w.@-]{1,64}$")
TOKEN_COOKIE = "ditto_annotate_token"
FORM_FIELDS = {"csrf", "consistency", "knowledge", "rejection", "query_valid"}
MAX_FORM_BYTES = 10_000  # a labels form is a few dozen bytes; anything near this is not one

TEMPLATES = Environment(
    loader=PackageLoader("ditto.annotate", "templates"), autoescape=select_autoescape(default=True),
    trim_blocks=True, lstrip_blocks=True,
)


@dataclass
class Annotation:
    """What the server labels, and the secrets it checks."""

    store: RunStore
    task: Task
    units: list[Unit]
    annotator: str | None = None
    token: str | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    description: str = ""
    """The run directory and sample, shown at the top of the page."""


def _page(template: str, status: int = 200, **values) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    html = TEMPLATES.get_template(template).render(nonce=nonce, **values)
    policy = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
              "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    headers = {"Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff",
               "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
    return HTMLResponse(html, status_code=status, headers=headers)


def _refused(status: int, reason: str) -> PlainTextResponse:
    return PlainTextResponse(reason + "\n", status_code=status, headers={"Cache-Control": "no-store"})


def _annotator(request: Request) -> str | None:
    name = request.path_params.get("name", "")
    return name if ANNOTATOR.match(name) else None


def _next_position(annotation: Annotation, labelled: dict, after: int) -> int | None:
    """The first unit after `after` (wrapping round) that this person has not finished."""
    count = len(annotation.units)
    for step in range(1, count + 1):
        position = (after + step) % count
        unit = annotation.units[position]
        if not finished(unit, labelled):
            return position
    return None


def _last_labelled(annotation: Annotation, name: str) -> int:
    """The position of the unit this person labelled last, or -1: where to continue from."""
    positions = {unit.key: position for position, unit in enumerate(annotation.units)}
    last = -1
    for label in annotation.store.labels(annotation.task, name):  # oldest first
        last = positions.get((label.item, label.turn), last)
    return last


def _url(name: str, position: int | str = "") -> str:
    return f"/a/{quote(name, safe='')}/{position}".rstrip("/")


def create_app(annotation: Annotation) -> Starlette:
    """The page's ASGI application over `annotation`'s store and sample."""
    total = len(annotation.units)

    async def start(request: Request) -> Response:
        chosen = request.query_params.get("annotator", "").strip() or annotation.annotator
        if chosen:
            if not ANNOTATOR.match(chosen):
                return _refused(400, "an annotator's name is 1-64 letters, digits, '.', '_', '@' or '-'")
            return RedirectResponse(_url(chosen), status_code=303)
        people = [(name, progress(annotation.units, labels_for(annotation.store, annotation.task, name)))
                  for name in annotators(annotation.store, annotation.task)]
        return _page("start.html.j2", people=people, total=total, description=annotation.description)

    async def resume(request: Request) -> Response:
        name = _annotator(request)
        if name is None:
            return _refused(404, "no such annotator name")
        labelled = labels_for(annotation.store, annotation.task, name)
        position = _next_position(annotation, labelled, _last_labelled(annotation, name))
        return RedirectResponse(_url(name, "done" if position is None else position), status_code=303)

    async def done(request: Request) -> Response:
        name = _annotator(request)
        if name is None:
            return _refused(404, "no such annotator name")
        labelled = labels_for(annotation.store, annotation.task, name)
        return _page("done.html.j2", annotator=name, done=progress(annotation.units, labelled), total=total,
                     description=annotation.description, first=_url(name, 0))

    def _unit(request: Request) -> tuple[str, int] | None:
        name = _annotator(request)
        raw = request.path_params.get("position", "")
        if name is None or not raw.isdigit() or int(raw) >= total:
            return None
        return name, int(raw)

    async def show(request: Request) -> Response:
        found = _unit(request)
        if found is None:
            return _refused(404, "no such unit in this sample")
        name, position = found
        unit = annotation.units[position]
        labelled = labels_for(annotation.store, annotation.task, name)
        given = labelled.get(unit.key, {})
        blind = "consistency" in unit.metrics and "consistency" not in given
        return _page(
            "unit.html.j2", unit=unit, given=given, blind=blind, position=position, total=total,
            done=progress(annotation.units, labelled), annotator=name, csrf=annotation.csrf,
            action=_url(name, position), back=_url(name, (position - 1) % total),
            skip=_url(name, (position + 1) % total), description=annotation.description,
        )

    async def post(request: Request) -> Response:
        found = _unit(request)
        if found is None:
            return _refused(404, "no such unit in this sample")
        name, position = found
        if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
            return _refused(400, "form too large")
        form = await request.form()
        try:
            if not hmac.compare_digest(str(form.get("csrf", "")), annotation.csrf):
                return _refused(400, "the form's session token is missing or stale: reload the page")
            unit = annotation.units[position]
            values = _posted_values(form, unit)
        except DittoError as exc:
            return _refused(400, str(exc))
        finally:
            await form.close()
        save_posted(annotation.store, annotation.task, name, unit, values)
        labelled = labels_for(annotation.store, annotation.task, name)
        if not finished(unit, labelled):
            return RedirectResponse(_url(name, position), status_code=303)
        following = _next_position(annotation, labelled, position)
        return RedirectResponse(_url(name, "done" if following is None else following), status_code=303)

    async def export(request: Request) -> Response:
        lines = "".join(jsonl_line(label_record(label)) for label in annotation.store.labels(annotation.task))
        return Response(lines, media_type="application/x-ndjson", headers={
            "Content-Disposition": f'attachment; filename="labels-{annotation.task}.jsonl"',
            "Cache-Control": "no-store"})

    app = Starlette(routes=[
        Route("/", start), Route("/export.jsonl", export),
        Route("/a/{name}", resume), Route("/a/{name}/done", done),
        Route("/a/{name}/{position}", show, methods=["GET"]), Route("/a/{name}/{position}", post, methods=["POST"]),
    ])
    return TokenGate(app, annotation.token) if annotation.token else app


def _posted_values(form, unit: Unit) -> dict[str, str | int]:
    """The labels of a posted form, all checked before any is kept."""
    unknown = set(form.keys()) - FORM_FIELDS
    if unknown:
        raise DittoError(f"unknown form fields: {', '.join(sorted(unknown))}")
    values = {}
    for metric in FORM_FIELDS - {"csrf"}:
        entries = form.getlist(metric)
        if len(entries) > 1:
            raise DittoError(f"{metric} given {len(entries)} times")
        if entries and str(entries[0]) != "":
            values[metric] = checked_value(unit, metric, str(entries[0]))
    if not values:
        raise DittoError("no label in the form")
    return values


class TokenGate:
    """Lets a request through only with the server's token: `?token=` once (kept in an
    HttpOnly, same-site cookie, then dropped from the URL), or that cookie."""

    def __init__(self, app, token: str) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        given = request.query_params.get("token")
        if given is not None and hmac.compare_digest(given, self.token):
            rest = request.url.remove_query_params("token")
            response = RedirectResponse(rest.path + (f"?{rest.query}" if rest.query else ""), status_code=303)
            response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
            await response(scope, receive, send)
            return
        if hmac.compare_digest(request.cookies.get(TOKEN_COOKIE, ""), self.token):
            await self.app(scope, receive, send)
            return
        await _refused(403, "this page needs its token: open the URL `ditto annotate serve` printed")(
            scope, receive, send)
