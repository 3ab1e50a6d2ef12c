"""The balance page without a server: tokens, what each page holds, publishing, rendering."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rules.engine import compute
from rules.model import Event, Result, Settings, Table
from sync.balance import (
    UnknownClient,
    client_keys_from_tables,
    ensure_tokens,
    links,
    publish,
    rotate,
    rotate_by_name,
)
from sync.balance.limits import RateLimit
from sync.balance.pages import ClientPage, pages_of
from sync.balance.render import CSP, page_html
from sync.balance.tokens import digest
from sync.balance.web import create_app
from sync.store import StateError, Store
from sync.store.schema import BALANCE_SCHEMA_VERSION, SCHEMA_VERSION
from tests.workbooks import tables

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
BASE = "https://credits.example.com"


def practice() -> dict[str, Table]:
    """Ann and Bob share Ann's Family Pack; each also has packages of their own."""
    return tables(
        clients=[
            {"Client": "Ann", "Email": "ann@example.com"},
            {"Client": "Bob"},
            {"Client": "<b>Eve</b>"},
            {"Client": "Carl", "Billing": "Per-session"},
        ],
        packages=[
            {
                "Package ID": "P-0001",
                "Client": "Ann",
                "Package": "5-Session Pack",
                "Sessions": 5,
                "Purchased": "2026-10-01",
                "Expires": "2026-12-31",
            },
            {
                "Package ID": "P-0002",
                "Client": "Ann",
                "Package": "Family Pack",
                "Sessions": 10,
                "Purchased": "2026-09-01",
                "Shared with": "Bob",
            },
            {
                "Package ID": "P-0003",
                "Client": "Bob",
                "Package": "Zebra Intensive",
                "Sessions": 4,
                "Purchased": "2026-10-01",
            },
            {
                "Package ID": "P-0004",
                "Client": "Ann",
                "Package": "Old Pack",
                "Sessions": 3,
                "Purchased": "2026-01-01",
                "Expires": "2026-06-01",
            },
            {
                "Package ID": "P-0005",
                "Client": "<b>Eve</b>",
                "Package": "<script>alert(1)</script> & Co",
                "Sessions": 2,
                "Purchased": "2026-10-01",
            },
        ],
        sessions=[
            {"Date": "2026-10-02", "Client": "Ann", "Package ID": "P-0001"},
            {"Date": "2026-10-09", "Client": "Ann", "Package ID": "P-0001"},
            {"Date": "2026-10-16", "Client": "Ann", "Package ID": "P-0001"},
            {"Date": "2026-11-03", "Client": "Ann", "Package ID": "P-0002"},
            {"Date": "2026-10-21", "Client": "Bob", "Package ID": "P-0002"},
            {"Date": "2026-10-28", "Client": "Bob", "Package ID": "P-0002"},
            {"Date": "2026-11-04", "Client": "Bob", "Package ID": "P-0003"},
            {"Date": "2026-11-05", "Client": "<b>Eve</b>", "Package ID": "P-0005"},
            {"Date": "2026-11-06", "Client": "Carl"},
        ],
    )


#: What only Ann's page may show, and what only Bob's may.
ANN_ONLY = ("Ann", "5-Session Pack", "Old Pack", "2026-10-02", "2026-10-09", "2026-10-16",
            "2026-11-03", "Fri 2 Oct 2026", "Mon 3 Nov 2026")  # fmt: skip
BOB_ONLY = ("Bob", "Zebra Intensive", "2026-10-21", "2026-10-28", "2026-11-04",
            "Wed 21 Oct 2026", "Wed 28 Oct 2026", "Wed 4 Nov 2026")  # fmt: skip


def computed(links_by_key: dict[str, str] | None = None) -> Result:
    result = compute(
        practice(),
        today=TODAY,
        settings=Settings(balance_links=True),
        balance_links=links_by_key,
    )
    assert not result.problems, result.problems
    return result


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "state.sqlite")
    yield s
    s.close()


def visible_text(html: str) -> str:
    """The words a reader sees in the page: tags, title and style dropped, entities as typed."""
    html = re.sub(r"<(style|title)>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


# --- tokens and links ------------------------------------------------------------------


def test_client_keys_come_from_the_clients_tab_found_like_the_rules_find_it() -> None:
    found = practice()
    clients = found.pop("Clients")
    found[" clients "] = Table(" clients ", ["CLIENT ", "Email"], [*clients.rows, ["ann"], [None]])
    assert client_keys_from_tables(found) == ["ann", "bob", "<b>eve</b>", "carl"]
    assert client_keys_from_tables({}) == []


def test_tokens_are_long_random_url_safe_and_kept(store: Store) -> None:
    first = ensure_tokens(store, ["ann", "bob"], NOW)
    assert set(first) == {"ann", "bob"}
    for token in first.values():
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token)  # 24 bytes = 192 bits
        assert len(base64.urlsafe_b64decode(token)) * 8 >= 128
    assert first["ann"] != first["bob"]
    again = ensure_tokens(store, ["ann", "bob", "carl"], NOW + timedelta(minutes=1))
    assert again["ann"] == first["ann"] and again["bob"] == first["bob"]
    assert "carl" in again and again["carl"] not in first.values()


def test_the_store_keeps_a_hash_to_look_tokens_up_by(store: Store) -> None:
    token = ensure_tokens(store, ["ann"], NOW)["ann"]
    assert store.balance.lookup(digest(token)) == ("ann", None)
    assert digest(token) == hashlib.sha256(token.encode()).hexdigest()
    assert store.balance.lookup(digest(token + "x")) is None
    assert store.balance.lookup(token) is None


def test_links_name_neither_the_client_nor_an_id(store: Store) -> None:
    # Names long enough that a random token cannot hold them by chance (a short one,
    # "ann", turns up in about one token in a thousand).
    tokens = ensure_tokens(store, ["annabelle fitzgerald", "<b>evangeline</b>"], NOW)
    made = links(tokens, BASE + "/")
    assert made == {k: f"{BASE}/b/{t}" for k, t in tokens.items()}
    for url in made.values():
        path = url.lower().removeprefix(BASE)
        assert "annabelle" not in path and "fitzgerald" not in path
        assert "evangeline" not in path


def test_rotate_replaces_the_token(store: Store) -> None:
    old = ensure_tokens(store, ["ann", "bob"], NOW)
    new = rotate(store, "ann", NOW)
    assert new != old["ann"]
    assert store.balance.lookup(digest(old["ann"])) is None
    assert store.balance.lookup(digest(new)) == ("ann", None)
    assert ensure_tokens(store, ["ann", "bob"], NOW) == {"ann": new, "bob": old["bob"]}
    with pytest.raises(UnknownClient):
        rotate(store, "nobody", NOW)


def test_rotate_by_name_gives_the_new_link(store: Store) -> None:
    old = ensure_tokens(store, client_keys_from_tables(practice()), NOW)
    url = rotate_by_name(store, "  ANN ", NOW, base_url=BASE)
    token = url.removeprefix(f"{BASE}/b/")
    assert token != old["ann"] and store.balance.tokens()["ann"] == token


def test_rotate_by_name_names_an_unknown_client_and_suggests_one(store: Store) -> None:
    ensure_tokens(store, client_keys_from_tables(practice()), NOW)
    publish(computed(), store, NOW)
    with pytest.raises(UnknownClient) as err:
        rotate_by_name(store, "Anne", NOW, base_url=BASE)
    assert "no client named 'Anne' has a balance link" in str(err.value)
    assert "did you mean 'Ann'?" in str(err.value)
    with pytest.raises(UnknownClient, match="no client named 'Zed'"):
        rotate_by_name(store, "Zed", NOW, base_url=BASE)


def test_links_reach_the_clients_tab_through_the_rules(store: Store) -> None:
    tokens = ensure_tokens(store, client_keys_from_tables(practice()), NOW)
    result = computed(links(tokens, BASE))
    clients = next(t for t in result.tabs if t.title == "Clients")
    column = next(c for c in clients.columns if c.name == "Balance link")
    assert column.values[0] == f"{BASE}/b/{tokens['ann']}"
    assert column.values[2] == f"{BASE}/b/{tokens['<b>eve</b>']}"


# --- what each page holds ---------------------------------------------------------------


def test_each_client_sees_their_packages_with_their_own_dates() -> None:
    pages = pages_of(computed(), NOW)
    ann = pages["ann"]
    assert ann.name == "Ann"
    assert [p.name for p in ann.packages] == ["5-Session Pack", "Family Pack", "Old Pack"]
    five, family, old = ann.packages
    assert (five.remaining, five.total, five.status, five.color) == (2, 5, "Low", "#FCE8B2")
    assert (five.expires, five.days_left, five.shared) == ("2026-12-31", 41, False)
    assert five.dates == ("2026-10-02", "2026-10-09", "2026-10-16")
    assert (family.remaining, family.total, family.shared, family.expires) == (7, 10, True, None)
    assert family.dates == ("2026-11-03",)
    assert (old.status, old.color, old.remaining, old.expired) == ("Expired", "#D9D9D9", 3, True)
    assert ann.credits_left == 9

    bob = pages["bob"]
    assert [p.name for p in bob.packages] == ["Family Pack", "Zebra Intensive"]
    assert bob.packages[0].dates == ("2026-10-21", "2026-10-28")
    assert (bob.packages[0].remaining, bob.packages[0].shared) == (7, True)


def test_a_page_never_holds_another_clients_name_packages_or_dates() -> None:
    pages = pages_of(computed(), NOW)
    ann, bob = pages["ann"].to_json(), pages["bob"].to_json()
    for word in BOB_ONLY:
        assert word not in ann, word
    for word in ANN_ONLY:
        assert word not in bob, word
    for word in ("Eve", "Carl"):
        assert word not in ann and word not in bob


def test_low_and_exhausted_carry_the_sheets_colors() -> None:
    result = compute(
        tables(
            clients=[{"Client": "Ann"}],
            packages=[
                {"Package ID": "P-1", "Client": "Ann", "Sessions": 3, "Purchased": "2026-10-01"},
                {"Package ID": "P-2", "Client": "Ann", "Sessions": 1, "Purchased": "2026-10-01"},
            ],
            sessions=[
                {"Date": "2026-11-01", "Client": "Ann", "Package ID": "P-1"},
                {"Date": "2026-11-02", "Client": "Ann", "Package ID": "P-2"},
            ],
        ),
        today=TODAY,
    )
    lines = {p.name: p for p in pages_of(result, NOW)["ann"].packages}
    assert (lines["P-1"].status, lines["P-1"].color, lines["P-1"].status_label) == (
        "Low",
        "#FCE8B2",
        "Running low",
    )
    assert (lines["P-2"].status, lines["P-2"].color, lines["P-2"].status_label) == (
        "Exhausted",
        "#F4C7C3",
        "Used up",
    )


def test_a_client_without_packages_gets_a_page_saying_so() -> None:
    carl = pages_of(computed(), NOW)["carl"]
    assert carl.packages == () and carl.credits_left == 0
    assert "You have no packages at the moment." in visible_text(page_html(carl))


def test_pages_survive_the_json_round_trip() -> None:
    for page in pages_of(computed(), NOW).values():
        assert ClientPage.from_json(page.to_json()) == page


# --- publishing -------------------------------------------------------------------------


def test_publish_replaces_every_page_at_once(store: Store) -> None:
    tokens = ensure_tokens(store, client_keys_from_tables(practice()), NOW)
    assert publish(computed(), store, NOW, timezone="Europe/London") == 4
    assert set(store.balance.pages()) == {"ann", "bob", "<b>eve</b>", "carl"}
    found = store.balance.lookup(digest(tokens["ann"]))
    assert found is not None and found[1] is not None
    assert ClientPage.from_json(found[1]).updated == "2026-11-20T09:30:00+00:00"

    fewer = compute(
        tables(
            clients=[{"Client": "Ann"}],
            packages=[{"Client": "Ann", "Sessions": 1, "Purchased": "2026-11-01"}],
        ),
        today=TODAY,
    )
    assert publish(fewer, store, NOW + timedelta(minutes=1)) == 1
    assert set(store.balance.pages()) == {"ann"}
    assert store.balance.lookup(digest(tokens["bob"])) == ("bob", None)


def test_a_cycle_that_cannot_see_the_workbook_leaves_the_last_pages(store: Store) -> None:
    publish(computed(), store, NOW)
    before = store.balance.pages()
    broken = compute({"Clients": Table("Clients", ["Client"], [["Ann"]])}, today=TODAY)
    assert broken.blocked
    assert publish(broken, store, NOW + timedelta(minutes=1)) == 0
    assert store.balance.pages() == before


def test_publishing_is_all_or_nothing(store: Store) -> None:
    publish(computed(), store, NOW)
    before = store.balance.pages()
    with pytest.raises(RuntimeError), store.transaction():
        store.balance.replace_pages({"ann": "{}"}, NOW)
        raise RuntimeError("crash mid-cycle")
    assert store.balance.pages() == before


# --- the state store's balance tables ---------------------------------------------------


def test_a_store_from_before_the_balance_page_gains_its_tables(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with Store(path) as s:
        s.alerts.record([Event("low", "low:p-1", True, "practitioner", "low")], NOW)
    db = sqlite3.connect(path)  # make it a store as the version before this one left it
    db.execute("DROP TABLE balance_tokens")
    db.execute("DROP TABLE balance_pages")
    db.execute("DELETE FROM meta WHERE key = 'balance_schema_version'")
    db.commit()
    db.close()
    with Store(path) as s:
        assert s.schema_version == SCHEMA_VERSION == 1
        assert s.alerts.get("low:p-1") is not None  # nothing it held is lost
        token = ensure_tokens(s, ["ann"], NOW)["ann"]
        assert s.balance.lookup(digest(token)) == ("ann", None)
    db = sqlite3.connect(path)
    version = db.execute("SELECT value FROM meta WHERE key = 'balance_schema_version'").fetchone()
    db.close()
    assert version == (str(BALANCE_SCHEMA_VERSION),)


def test_a_newer_balance_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'balance_schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StateError, match="newer creditsheet"):
        Store(path)


# --- rendering --------------------------------------------------------------------------


def test_the_page_reads_as_a_balance() -> None:
    text = visible_text(page_html(pages_of(computed(), NOW)["ann"]))
    assert text.startswith("Session balance Hello, Ann 9 sessions left across your 2 packages")
    assert "2 of 5 sessions left" in text
    assert "Expires Thu 31 Dec 2026 Time left 41 days" in text
    assert "Your sessions on it Fri 16 Oct 2026 Fri 9 Oct 2026 Fri 2 Oct 2026" in text
    assert "7 of 10 sessions left" in text and "Shared package" in text
    assert "3 of 3 sessions unused" in text and "Expired Mon 1 Jun 2026" in text
    assert "Last updated Fri 20 Nov 2026 at 09:30." in text


def test_everything_from_the_sheet_is_escaped() -> None:
    html = page_html(pages_of(computed(), NOW)["<b>eve</b>"])
    assert "Hello, &lt;b&gt;Eve&lt;/b&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert "<b>" not in html and "<script" not in html


def test_the_only_style_is_the_one_the_policy_allows_and_there_is_no_script() -> None:
    html = page_html(pages_of(computed(), NOW)["ann"])
    styles = re.findall(r"<style>(.*?)</style>", html, flags=re.S)
    assert len(styles) == 1
    allowed = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert f"style-src 'sha256-{allowed}'" in CSP
    assert "default-src 'none'" in CSP and "script" not in CSP
    assert "<script" not in html and " style=" not in html
    assert re.search(r"(src|href)=", html) is None  # no external asset, no link at all
    assert '<html lang="en">' in html
    for landmark in ("<header>", "<main>", "<footer>", "<h1>", "<h2>", "<h3"):
        assert landmark in html


def test_the_progress_bar_is_the_remaining_share_in_the_status_color() -> None:
    html = page_html(pages_of(computed(), NOW)["ann"])
    bars = re.findall(r'<rect x="0" y="0" height="10" width="(\d+)" fill="(#[0-9A-F]{6})"/>', html)
    assert bars == [("400", "#FCE8B2"), ("700", "#B7E1CD"), ("1000", "#D9D9D9")]


# --- the rate limit ---------------------------------------------------------------------


def test_the_rate_limit_refills_with_time_per_address() -> None:
    now = [0.0]
    limit = RateLimit(per_minute=30, clock=lambda: now[0])
    assert all(limit.allow("a") for _ in range(30))
    assert not limit.allow("a") and limit.allow("b")
    now[0] = 2.0  # 30 a minute: one more every two seconds
    assert limit.allow("a") and not limit.allow("a")
    now[0] = 1000.0
    assert sum(limit.allow("a") for _ in range(40)) == 30


def test_the_rate_limit_forgets_the_longest_idle_addresses() -> None:
    limit = RateLimit(per_minute=1, clock=lambda: 0.0, max_addresses=2)
    assert limit.allow("a") and limit.allow("b") and limit.allow("c")
    assert not limit.allow("c") and not limit.allow("b")
    assert limit.allow("a")  # forgotten, so it starts afresh


# --- every path takes the same route ------------------------------------------------------


class RecordingBalance:
    """Stands in for the store's balance tables: remembers what the app looked up."""

    def __init__(self, known: dict[str, str]) -> None:
        self.known = known
        self.lookups: list[str] = []

    def lookup(self, token_hash: str) -> tuple[str, str | None] | None:
        self.lookups.append(token_hash)
        return ("ann", None) if token_hash in self.known else None


class RecordingStore:
    """Stands in for the state store, with only its balance tables."""

    def __init__(self, known: dict[str, str]) -> None:
        self.balance = RecordingBalance(known)


def call(app: Any, path: str) -> tuple[int, bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test")],
        "client": ("192.0.2.1", 1234),
        "server": ("test", 80),
    }
    asyncio.run(app(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body


def test_unknown_malformed_and_other_paths_are_all_looked_up_by_hash() -> None:
    token = "A" * 32
    fake = RecordingStore({digest(token)})  # type: ignore[arg-type]
    app = create_app(lambda: fake, limit=RateLimit(per_minute=1000))  # type: ignore[arg-type,return-value]
    paths = ["/nothing", "/b/" + "B" * 32, "/b/<bad>", "/b/" + "x" * 3000, "/", "/b/"]
    answers = [call(app, p) for p in paths]
    assert fake.balance.lookups == [
        digest(p.removeprefix("/b/")) if p.startswith("/b/") else digest(p) for p in paths
    ]
    assert {a for a in answers} == {answers[0]} and answers[0][0] == 404
    assert call(app, f"/b/{token}")[0] == 200
