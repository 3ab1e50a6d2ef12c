"""The balance pages over real HTTP: the real server on an ephemeral loopback port."""

from __future__ import annotations

import http.client
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from rules.engine import compute
from sync.balance import (
    BalanceError,
    client_keys_from_tables,
    ensure_tokens,
    links,
    make_server,
    publish,
    rotate_by_name,
)
from sync.balance.limits import RateLimit
from sync.balance.server import BalanceServer
from sync.config import BalanceConfig, Config, StateConfig
from sync.store import Store
from tests.test_balance import ANN_ONLY, BOB_ONLY, NOW, computed, practice
from tests.workbooks import TODAY, tables

SECURITY = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-robots-tag": "noindex, nofollow",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}


@dataclass
class Running:
    """A live server with a published practice: ``links`` by client key."""

    server: BalanceServer
    config: Config
    host: str
    port: int
    links: dict[str, str]

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def get(
        self, path: str, method: str = "GET", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request(method, path, headers=headers or {})
            response = conn.getresponse()
            body = response.read().decode()
            found = {k.lower(): v for k, v in response.getheaders()}
            return response.status, found, body
        finally:
            conn.close()

    def page(self, client_key: str) -> str:
        status, _, body = self.get(self.path(client_key))
        assert status == 200
        return body

    def path(self, client_key: str) -> str:
        return self.links[client_key].removeprefix(self.base)

    def raw(self, target: str) -> bytes:
        """The whole response as bytes, with only its Date value blanked."""
        with socket.create_connection((self.host, self.port), timeout=10) as sock:
            sock.sendall(
                f"GET {target} HTTP/1.1\r\nHost: {self.host}\r\nConnection: close\r\n\r\n".encode()
            )
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return re.sub(rb"(?im)^(date): [^\r\n]*", rb"\1: -", b"".join(chunks))


def config_for(tmp_path: Path) -> Config:
    return Config(
        balance=BalanceConfig(enabled=True, base_url="http://127.0.0.1:1"),
        state=StateConfig(path="state.sqlite"),
        source=tmp_path / "config.toml",
    )


@contextmanager
def running(tmp_path: Path, limit: RateLimit | None = None) -> Iterator[Running]:
    """Start the real server in a thread, with the practice's pages published."""
    config = config_for(tmp_path)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    with Store(config.state_path) as store:
        tokens = ensure_tokens(store, client_keys_from_tables(practice()), NOW)
        urls = links(tokens, f"http://{host}:{port}")
        publish(computed(urls), store, NOW, timezone="Europe/London")
    server = make_server(config, sock=sock, limit=limit or RateLimit(per_minute=10_000))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield Running(server, config, host, port, urls)
    finally:
        server.stop()
        thread.join(10)
        assert not thread.is_alive()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running(tmp_path_factory.mktemp("balance")) as r:
        yield r


def test_each_client_gets_their_own_page_and_nothing_of_anyone_elses(live: Running) -> None:
    ann, bob = live.page("ann"), live.page("bob")
    assert "Hello, Ann" in ann and "Hello, Bob" in bob
    assert "5-Session Pack" in ann and "Family Pack" in ann and "Old Pack" in ann
    assert "Zebra Intensive" in bob and "Family Pack" in bob
    for word in BOB_ONLY:
        assert word not in ann, word
    for word in ANN_ONLY:
        assert word not in bob, word
    for page in (ann, bob):
        assert "Eve" not in page and "Carl" not in page
        assert "Shared package" in page  # the Family Pack, with totals only
        assert "7 of 10 sessions left" in re.sub(r"<[^>]+>", "", page)


def test_unknown_and_malformed_tokens_answer_exactly_like_an_unknown_page(live: Running) -> None:
    good = live.path("ann")
    unknown_page = live.raw("/no-such-page")
    assert unknown_page.startswith(b"HTTP/1.1 404 ")
    for target in [
        "/b/" + secrets.token_urlsafe(24),  # well formed, never issued
        good + "x",
        good[:-1],
        good.upper() if good != good.upper() else good.lower(),
        good + "/",
        "/b/",
        "/b/%3Cscript%3E",
        "/b/" + "x" * 2000,
        "/b/..%2F..%2Fetc%2Fpasswd",
        "/",
        "/b",
        "/index.html",
        "/b/?q=Ann",
    ]:
        assert live.raw(target) == unknown_page, target


def test_every_response_carries_the_security_headers(live: Running) -> None:
    for path, status in [
        (live.path("ann"), 200),
        ("/b/" + secrets.token_urlsafe(24), 404),
        ("/healthz", 200),
    ]:
        got, headers, body = live.get(path)
        assert got == status, path
        for name, value in SECURITY.items():
            assert headers.get(name) == value, (path, name)
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "style-src 'sha256-" in csp
        assert "frame-ancestors 'none'" in csp and "script-src" not in csp
        assert "server" not in headers
    status, headers, body = live.get("/healthz")
    assert body == "ok\n" and headers["content-type"].startswith("text/plain")
    status, headers, _ = live.get(live.path("ann"))
    assert headers["content-type"] == "text/html; charset=utf-8"


def test_only_get_is_answered(live: Running) -> None:
    status, headers, body = live.get(live.path("ann"), method="HEAD")
    assert status == 200 and body == ""
    for method in ("POST", "PUT", "DELETE"):
        status, headers, body = live.get(live.path("ann"), method=method)
        assert status == 405 and "Ann" not in body
        assert headers["cache-control"] == "no-store"


def test_html_in_the_sheet_shows_literally(live: Running) -> None:
    page = live.page("<b>eve</b>")
    assert "Hello, &lt;b&gt;Eve&lt;/b&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
    assert "<b>" not in page and "<script" not in page


def test_rotation_stops_the_old_link_at_once_and_the_new_one_works(tmp_path: Path) -> None:
    with running(tmp_path) as r:
        old = r.path("bob")
        assert r.get(old)[0] == 200
        with Store(r.config.state_path) as store:
            new_link = rotate_by_name(store, "bob", NOW, base_url=r.base)
        new = new_link.removeprefix(r.base)
        assert new != old
        assert r.raw(old) == r.raw("/no-such-page")
        status, _, body = r.get(new)
        assert status == 200 and "Hello, Bob" in body
        assert r.get(r.path("ann"))[0] == 200  # nobody else's link changed


def test_past_the_rate_limit_an_address_gets_429(tmp_path: Path) -> None:
    now = [0.0]
    with running(tmp_path, RateLimit(per_minute=30, clock=lambda: now[0])) as r:
        answers = [r.get(r.path("ann"))[0] for _ in range(30)]
        assert answers == [200] * 30
        status, headers, body = r.get(r.path("ann"))
        assert status == 429 and "Ann" not in body and "Too many requests" in body
        assert headers["retry-after"] == "2" and headers["cache-control"] == "no-store"
        assert r.get("/b/" + secrets.token_urlsafe(24))[0] == 429  # guessing is limited too
        assert r.get("/healthz")[0] == 200  # health checks are not counted
        # Another client address (through the local proxy's X-Forwarded-For) has its own bucket.
        assert r.get(r.path("ann"), headers={"X-Forwarded-For": "203.0.113.7"})[0] == 200
        now[0] = 2.0  # 30 a minute: one more request every two seconds
        assert r.get(r.path("ann"))[0] == 200
        assert r.get(r.path("ann"))[0] == 429


def test_a_page_is_served_from_the_last_publish_not_the_sheet(tmp_path: Path) -> None:
    with running(tmp_path) as r:
        with Store(r.config.state_path) as store:
            only_ann = compute(
                tables(
                    clients=[{"Client": "Ann"}],
                    packages=[{"Client": "Ann", "Package": "Fresh Pack", "Sessions": 8}],
                ),
                today=TODAY,
            )
            publish(only_ann, store, NOW)
        assert "Fresh Pack" in r.page("ann") and "5-Session Pack" not in r.page("ann")
        assert "nothing to show here yet" in r.page("bob")


def test_serving_needs_the_balance_page_enabled(tmp_path: Path) -> None:
    config = config_for(tmp_path).model_copy(update={"balance": BalanceConfig(enabled=False)})
    with pytest.raises(BalanceError, match=r"\[balance\] enabled is false"):
        make_server(config)


def test_an_address_in_use_is_said_plainly(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = config_for(tmp_path).model_copy(
            update={"balance": BalanceConfig(enabled=True, listen=f"127.0.0.1:{port}")}
        )
        with pytest.raises(BalanceError, match=f"cannot listen on 127.0.0.1:{port}"):
            make_server(config)
