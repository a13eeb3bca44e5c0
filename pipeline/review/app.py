"""The review page: a small Starlette app over one REVERIE_HOME.

Reads go through `pipeline.review.catalog` and `transcript`; every decision goes through `PlaybookStore`,
so the page obeys exactly the CLI's rules (thin entries cannot be approved, nothing is deleted, the decision
log says who and why). Templates are Jinja2 with autoescaping on: session text, entry text and reviewer
input are always rendered as text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from pipeline.home import ReverieHome
from pipeline.playbooks.changes import version_changes
from pipeline.playbooks.store import PlaybookError, PlaybookStore
from pipeline.review import catalog
from pipeline.review.security import (
    CSRF_FIELD,
    MAX_FORM_BYTES,
    TOKEN_PARAM,
    TokenGuard,
    parse_form,
    same_origin,
)
from pipeline.review.security import token_matches as _token_matches
from pipeline.review.transcript import load_transcript, mark_support

TEMPLATES = Path(__file__).parent / "templates"
MAX_REASON = 2000
MAX_NAME = 80
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def default_reviewer() -> str:
    return os.environ.get("USER") or os.environ.get("USERNAME") or "reviewer"


def _clean(value: str | None, limit: int) -> str:
    """One line of plain text: control characters would forge lines in logs and terminals."""
    return _CONTROL.sub(" ", value or "").strip()[:limit]


class ReviewPage:
    """The routes, bound to one home, one token and the default reviewer name."""

    def __init__(self, home: ReverieHome, token: str, reviewer: str | None = None) -> None:
        self.home = home
        self.token = token
        self.reviewer = reviewer or default_reviewer()
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
        )
        self.css = (TEMPLATES / "review.css").read_text()
        self.env.globals.update(u=self.url, css=self.css, csrf_field=CSRF_FIELD, token=token)
        self.env.filters["pct"] = lambda v: "-" if v is None else f"{v:.1%}"

    @property
    def store(self) -> PlaybookStore:
        return PlaybookStore(self.home)

    def url(self, *segments: str, **params: Any) -> str:
        """A link to this server, with the token (every request needs it) and path segments quoted."""
        path = "/" + "/".join(quote(str(s), safe="") for s in segments if s != "")
        query = {TOKEN_PARAM: self.token, **{k: v for k, v in params.items() if v not in (None, "")}}
        return f"{path}?{urlencode(query)}"

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("notice", request.query_params.get("notice"))
        context.setdefault("error", None)
        context.setdefault("reviewer", self.reviewer)
        context.setdefault("here", request.url.path)
        return HTMLResponse(self.env.get_template(name).render(**context), status_code=status)

    def _not_found(self, request: Request, what: str) -> HTMLResponse:
        return self.render(request, "message.html", 404, title="Not found", message=what)

    # --- pages -----------------------------------------------------------------------------------------

    async def versions(self, request: Request) -> Response:
        return self.render(
            request, "versions.html", title="Playbook versions", rows=catalog.version_rows(self.store)
        )

    async def version(self, request: Request) -> Response:
        store, version = self.store, request.path_params["version"]
        if version not in store.versions():
            return self._not_found(request, f"no playbook version {version!r}")
        book = store.load(version)
        return self.render(
            request,
            "version.html",
            title=f"Playbook {version}",
            book=book,
            groups=catalog.grouped_entries(book, catalog.entry_scopes(self.home, book)),
            approvable={e.id for e in book.entries if store.approvable(e)},
            statuses=catalog.entry_statuses(store, book),
            effect=catalog.effect_summary,
        )

    async def entry(self, request: Request) -> Response:
        store, version, entry_id = self.store, request.path_params["version"], request.path_params["entry_id"]
        view = catalog.entry_view(store, version, entry_id) if version in store.versions() else None
        if view is None:
            return self._not_found(request, f"no entry {entry_id!r} in {version!r}")
        return self.render(
            request,
            "entry.html",
            title=f"{entry_id} in {version}",
            version=version,
            view=view,
            entry=view.entry,
            entry_status=catalog.entry_statuses(store, store.load(version))[entry_id],
            effect=catalog.effect_summary(view.entry),
            sessions=catalog.session_summaries(self.home, view.entry.evidence),
            min_support=store.min_support,
        )

    async def session(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        transcript = load_transcript(self.home, session_id)
        if transcript is None:
            return self._not_found(request, f"no session {session_id!r} in the lake")
        version, entry_id = request.query_params.get("version"), request.query_params.get("entry")
        entry = None
        if version and entry_id and version in self.store.versions():
            entry = next((e for e in self.store.load(version).entries if e.id == entry_id), None)
        if entry is not None:
            mark_support(transcript, entry)
        summary = catalog.session_summaries(self.home, [session_id])[0]
        return self.render(
            request,
            "session.html",
            title=f"Session {session_id}",
            transcript=transcript,
            entry=entry,
            version=version,
            summary=summary,
            cited=entry is not None and session_id in entry.evidence,
        )

    async def diff(self, request: Request) -> Response:
        store = self.store
        versions = store.versions()
        new = request.query_params.get("new") or (versions[-1] if versions else None)
        old = request.query_params.get("old")
        if old is None and new in versions:
            old = store.load(new).parent or (
                versions[versions.index(new) - 1] if versions.index(new) else new
            )
        if new not in versions or old not in versions:
            return self.render(
                request,
                "diff.html",
                title="Compare versions",
                versions=versions,
                old=old,
                new=new,
                changes=None,
                error="choose two versions" if versions else "no versions yet",
            )
        changes = version_changes(store.diff(old, new))
        return self.render(
            request,
            "diff.html",
            title=f"{old} -> {new}",
            versions=versions,
            old=old,
            new=new,
            changes=changes,
        )

    async def nights(self, request: Request) -> Response:
        return self.render(
            request, "nights.html", title="Success by night", data=catalog.success_by_night(self.home)
        )

    # --- actions ---------------------------------------------------------------------------------------

    async def _decide(self, request: Request, action: Callable[[PlaybookStore, str, str], str]) -> Response:
        """Check the form (CSRF token, origin, reviewer, reason), apply one store action, go back."""
        if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
            return self.render(request, "message.html", 413, title="Not recorded", message="form too large")
        form = parse_form((await request.body())[:MAX_FORM_BYTES])
        if not (same_origin(dict(request.headers)) and _token_matches(form.get(CSRF_FIELD), self.token)):
            return self.render(
                request,
                "message.html",
                403,
                title="Not recorded",
                message="the form did not carry this page's token; reload the page and try again",
            )
        by, reason = _clean(form.get("reviewer"), MAX_NAME), _clean(form.get("reason"), MAX_REASON)
        back = form.get("next") or "/"
        if not back.startswith("/") or back.startswith("//"):
            back = "/"
        if not by or not reason:
            return self.render(
                request,
                "message.html",
                400,
                title="Not recorded",
                message="say who you are and why: both the reviewer name and the reason are required",
                back=self._back(back),
            )
        try:
            notice = action(self.store, by, reason)
        except PlaybookError as exc:
            return self.render(
                request, "message.html", 409, title="Not recorded", message=str(exc), back=self._back(back)
            )
        return RedirectResponse(self._back(back, notice=notice), status_code=303)

    def _back(self, path: str, **params: Any) -> str:
        return self.url(*[p for p in path.split("/") if p], **params) if path != "/" else self.url(**params)

    async def approve_version(self, request: Request) -> Response:
        version = request.path_params["version"]

        def act(store: PlaybookStore, by: str, reason: str) -> str:
            approved = store.approve(version, by=by, reason=reason)
            return f"approved {len(approved)} entries of {version}"

        return await self._decide(request, act)

    async def rollback(self, request: Request) -> Response:
        version = request.path_params["version"]

        def act(store: PlaybookStore, by: str, reason: str) -> str:
            store.rollback(version, by=by, reason=reason)
            return f"{version} is in force again"

        return await self._decide(request, act)

    async def approve_entry(self, request: Request) -> Response:
        version, entry_id = request.path_params["version"], request.path_params["entry_id"]

        def act(store: PlaybookStore, by: str, reason: str) -> str:
            store.approve(version, [entry_id], by=by, reason=reason)
            return f"approved {entry_id} in {version}"

        return await self._decide(request, act)

    async def reject_entry(self, request: Request) -> Response:
        version, entry_id = request.path_params["version"], request.path_params["entry_id"]

        def act(store: PlaybookStore, by: str, reason: str) -> str:
            store.reject(version, entry_id, by=by, reason=reason)
            return f"rejected {entry_id} in {version}"

        return await self._decide(request, act)


def create_app(home: ReverieHome, token: str, reviewer: str | None = None) -> TokenGuard:
    page = ReviewPage(home, token, reviewer)
    routes = [
        Route("/", page.versions),
        Route("/versions/{version}", page.version),
        Route("/versions/{version}/entries/{entry_id}", page.entry),
        Route("/sessions/{session_id:path}", page.session),
        Route("/diff", page.diff),
        Route("/nights", page.nights),
        Route("/versions/{version}/approve", page.approve_version, methods=["POST"]),
        Route("/versions/{version}/rollback", page.rollback, methods=["POST"]),
        Route("/versions/{version}/entries/{entry_id}/approve", page.approve_entry, methods=["POST"]),
        Route("/versions/{version}/entries/{entry_id}/reject", page.reject_entry, methods=["POST"]),
    ]
    return TokenGuard(Starlette(routes=routes, max_body_size=MAX_FORM_BYTES), token, page.css)
