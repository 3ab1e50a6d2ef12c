"""The balance page web app (ASGI, Starlette): GET ``/b/{token}`` and nothing else to see.

Every path, whatever it holds, goes through the same steps: hash it
(:func:`sync.balance.tokens.digest`), look the hash up in the state store,
answer. So an unknown token, a malformed one and an unknown page get the same
404, byte for byte, by the same route. There is no index, listing or search;
``/healthz`` answers ``ok`` and nothing more.

Around the app: a rate limit per client address (429 past it) and the security
headers, on every response including errors.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync.balance.limits import RateLimit
from sync.balance.pages import ClientPage
from sync.balance.render import CSP, not_found_html, page_html, too_many_html
from sync.balance.tokens import PREFIX, digest
from sync.store import Store

HEALTH = "/healthz"

#: On every response: never cached, never indexed, never framed, no referrer leaks the link.
SECURITY_HEADERS: dict[str, str] = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": CSP,
    "Cross-Origin-Resource-Policy": "same-origin",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
}


class PerThread:
    """One state store per thread that asks (an SQLite connection stays in its thread)."""

    def __init__(self, open_store: Callable[[], Store]) -> None:
        self._open = open_store
        self._local = threading.local()

    def __call__(self) -> Store:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = self._open()
        return store

    def close(self) -> None:
        """Close the store opened in the calling thread, if any."""
        mine: Store | None = getattr(self._local, "store", None)
        if mine is not None:
            mine.close()
            self._local.store = None


def create_app(store: Callable[[], Store], *, limit: RateLimit) -> ASGIApp:
    """The whole app; ``store()`` gives the state store to read (see :class:`PerThread`)."""

    async def page(request: Request) -> Response:
        path = request.url.path
        token = path[len(PREFIX) :] if path.startswith(PREFIX) else path
        found = store().balance.lookup(digest(token))
        if found is None:
            return HTMLResponse(not_found_html(), status_code=404)
        _, published = found
        shown = ClientPage.from_json(published) if published is not None else None
        return HTMLResponse(page_html(shown))

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    app = Starlette(
        routes=[
            Route(HEALTH, health, methods=["GET"]),
            Route("/{path:path}", page, methods=["GET"]),
        ]
    )
    return SecurityHeaders(Limited(app, limit))


class Limited:
    """Answers 429 to a client address past its rate limit (health checks are not counted)."""

    def __init__(self, app: ASGIApp, limit: RateLimit) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == HEALTH:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = str(client[0]) if client else "?"
        if self.limit.allow(address):
            await self.app(scope, receive, send)
            return
        response = HTMLResponse(
            too_many_html(),
            status_code=429,
            headers={"Retry-After": str(self.limit.retry_after())},
        )
        await response(scope, receive, send)


class SecurityHeaders:
    """Sets :data:`SECURITY_HEADERS` on every HTTP response, replacing any the app set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        names = {name.lower().encode("latin-1") for name in SECURITY_HEADERS}
        self._names = names
        self._headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in SECURITY_HEADERS.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k not in self._names]
                message = {**message, "headers": kept + self._headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
