"""Fetching a feed from a real HTTP server on loopback: conditional requests, the
bounded retry, redirects, and errors that never hold the address."""

from __future__ import annotations

import random
from pathlib import Path

from sync.backends.google.client import RetryPolicy
from sync.calendar.feeds import FeedSource, Validators, read_feed
from tests.calendar_support import calendar, feed_server, vevent

BODY = calendar(vevent("a@x", "20261208T100000", "Massage - Ann Lee"))
POLICY = RetryPolicy(attempts=3, total_seconds=30.0, first_delay=1.0, timeout=(2.0, 2.0))


def test_a_conditional_request_gets_304_and_keeps_the_validators() -> None:
    with feed_server() as server:
        url = server.serve("/private-abc/basic.ics", BODY)
        first = read_feed(FeedSource(url), policy=POLICY)
        assert first.ok and first.data == BODY
        assert first.validators == Validators('"v1"', "Tue, 01 Dec 2026 09:00:00 GMT")
        again = read_feed(FeedSource(url), first.validators, policy=POLICY)
        assert again.not_modified and again.data is None
        assert again.validators == first.validators


def test_a_server_error_is_retried_within_bounds_then_reported() -> None:
    waits: list[float] = []
    with feed_server() as server:
        url = server.serve("/private-abc/basic.ics", BODY)
        server.paths["/private-abc/basic.ics"].status = 503
        read = read_feed(FeedSource(url), policy=POLICY, sleep=waits.append, rng=random.Random(1))
        assert [status for _, _, status in server.log] == [503, 503, 503]
    assert len(waits) == 2 and all(0 <= w <= 2.0 for w in waits)
    assert read.error == "it did not answer usefully (HTTP 503)"


def test_a_refusal_is_not_retried_and_says_what_to_do() -> None:
    with feed_server() as server:
        url = server.url + "/private-abc/gone.ics"
        read = read_feed(FeedSource(url), policy=POLICY, sleep=lambda s: None)
        assert len(server.log) == 1
    assert read.error == (
        "it answered HTTP 404: the address is no longer valid; copy the private address again"
    )
    assert "private-abc" not in (read.error or "")


def test_a_redirect_loop_and_an_unreachable_host_are_plain_errors() -> None:
    with feed_server() as server:
        server.redirects["/a"] = "/b"
        server.redirects["/b"] = "/a"
        loop = read_feed(FeedSource(server.url + "/a"), policy=POLICY, sleep=lambda s: None)
        port = server.url.rsplit(":", 1)[1]
    assert loop.error == "it redirects in a loop"
    closed = read_feed(
        FeedSource(f"http://127.0.0.1:{port}/private-abc"), policy=POLICY, sleep=lambda s: None
    )
    assert closed.error == "it did not answer usefully (cannot connect)"


def test_a_file_feed(tmp_path: Path) -> None:
    path = tmp_path / "bookings.ics"
    path.write_bytes(BODY)
    source = FeedSource.of("bookings.ics", lambda p: tmp_path / p)
    assert source.label == "bookings.ics"
    assert read_feed(source).data == BODY
