"""``creditsheet serve``: the balance pages on ``[balance] listen``, with uvicorn.

    serve(config)            # until SIGINT or SIGTERM

The pages come from the state store (what the last sync published), never
from the workbook. Request paths are not logged: they hold the clients' tokens.
Behind a reverse proxy on the same machine, the client address for the rate
limit is taken from its ``X-Forwarded-For`` (trusted from loopback only).
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from sync.balance.limits import RateLimit
from sync.balance.tokens import BalanceError
from sync.balance.web import PerThread, create_app
from sync.config import Config
from sync.store import Store

log = logging.getLogger(__name__)

#: Proxies whose ``X-Forwarded-For`` names the client (a proxy on this machine).
TRUSTED_PROXIES = "127.0.0.1,::1"


@dataclass
class BalanceServer:
    """A configured server and the socket it listens on; ``run()`` blocks until stopped."""

    server: uvicorn.Server
    sock: socket.socket
    stores: PerThread

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return str(host), int(port)

    def run(self) -> None:
        host, port = self.address
        log.info("serving the balance pages on %s port %d", host, port)
        try:
            self.server.run(sockets=[self.sock])
        finally:
            self.stores.close()  # the event loop ran in this thread, and read in it
            self.sock.close()

    def stop(self) -> None:
        """Ask a running server to finish (from another thread)."""
        self.server.should_exit = True


def split_listen(listen: str) -> tuple[str, int]:
    """``127.0.0.1:8080`` -> ``("127.0.0.1", 8080)``; ``[::1]:8080`` -> ``("::1", 8080)``."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket, or :class:`BalanceError` saying why not."""
    try:
        family, kind, proto, _, where = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as err:
        raise BalanceError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(where)
    except OSError as err:
        sock.close()
        raise BalanceError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    return sock


def make_server(
    config: Config, *, sock: socket.socket | None = None, limit: RateLimit | None = None
) -> BalanceServer:
    """The server for this config, listening on ``sock`` when given, else ``[balance] listen``.

    Raises :class:`BalanceError` when the balance page is off or the address
    cannot be used, and :class:`sync.store.StateError` when the state file cannot.
    """
    if not config.balance.enabled:
        raise BalanceError(
            f"{config.source}: [balance] enabled is false: set it to true to serve balance pages"
        )
    path: Path = config.state_path
    Store(path).close()  # a state file that cannot be used is said now, not per request
    if sock is None:
        sock = bind(*split_listen(config.balance.listen))
    stores = PerThread(lambda: Store(path))
    app = create_app(stores, limit=limit or RateLimit())
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            http="h11",
            loop="asyncio",
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=True,
            forwarded_allow_ips=TRUSTED_PROXIES,
            timeout_keep_alive=5,
            limit_concurrency=200,
        )
    )
    return BalanceServer(server, sock, stores)


def serve(config: Config) -> None:
    """Serve the balance pages until SIGINT or SIGTERM."""
    make_server(config).run()
