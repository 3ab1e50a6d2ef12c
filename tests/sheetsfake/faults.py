"""Fault injection: HTTP errors, delays and dropped connections planned for coming requests.

Rules are matched in the order they were added, by request *kind* (the discovery method id
without ``sheets.``, e.g. ``spreadsheets.values.batchGet``; a dotted suffix such as
``values.batchGet`` or the words ``read`` / ``write`` also match) or by absolute request
index (0-based, as in ``FakeSheets.requests``). Seeded random faults apply to requests no
rule matched.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from .errors import ApiError, quota_exceeded

STATUS = "status"
DELAY = "delay"
DROP = "drop"


@dataclass(frozen=True)
class Fault:
    """One fault. Build with ``Fault.http(503)``, ``Fault.delay(2.0)`` or ``Fault.drop()``.

    ``applied=True`` makes the fake carry the request out (state changes) before failing,
    like a write whose response got lost. A delayed request is always carried out after the
    delay, even when the client has given up waiting by then.
    """

    action: str
    status: int = 0
    seconds: float = 0.0
    retry_after: float | None = None
    applied: bool = False
    message: str | None = None

    @classmethod
    def http(
        cls,
        status: int,
        *,
        retry_after: float | None = None,
        applied: bool = False,
        message: str | None = None,
    ) -> Fault:
        return cls(STATUS, status=status, retry_after=retry_after, applied=applied, message=message)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        return cls(DELAY, seconds=seconds)

    @classmethod
    def drop(cls, *, applied: bool = False) -> Fault:
        return cls(DROP, applied=applied)

    def error(self, is_read: bool) -> ApiError:
        """The Google-shaped error body for a STATUS fault."""
        if self.status == 429:
            error = quota_exceeded(write=not is_read, retry_after=self.retry_after)
            if self.message:
                error.message = self.message
            return error
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = f"{self.retry_after:g}"
        return ApiError(self.status, self.message, headers=headers)


def kind_matches(pattern: str | None, kind: str | None, is_read: bool) -> bool:
    if pattern is None:
        return True
    if pattern == "read":
        return is_read
    if pattern == "write":
        return not is_read
    if kind is None:
        return False
    return kind == pattern or kind.endswith("." + pattern)


@dataclass
class _Rule:
    fault: Fault
    kind: str | None
    at: int | None
    remaining: int | None


@dataclass
class Injected:
    """A fault that was injected: on which request index, of which kind."""

    index: int
    kind: str | None
    fault: Fault


@dataclass
class FaultPlan:
    """The plan of faults for upcoming requests (thread-safe)."""

    rules: list[_Rule] = field(default_factory=list)
    injected: list[Injected] = field(default_factory=list)
    _random: tuple[random.Random, float, list[Fault], str | None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(
        self, fault: Fault, *, times: int | None = 1, kind: str | None = None, at: int | None = None
    ) -> None:
        """Inject ``fault`` on the next ``times`` matching requests (None: every one)."""
        with self._lock:
            self.rules.append(_Rule(fault, kind, at, 1 if at is not None else times))

    def fail(
        self,
        status: int = 500,
        *,
        times: int | None = 1,
        kind: str | None = None,
        at: int | None = None,
        retry_after: float | None = None,
        applied: bool = False,
    ) -> None:
        """Answer with HTTP ``status`` (429 gets Google's RESOURCE_EXHAUSTED quota body)."""
        self.add(
            Fault.http(status, retry_after=retry_after, applied=applied),
            times=times,
            kind=kind,
            at=at,
        )

    def rate_limit(
        self, *, times: int | None = 1, kind: str | None = None, retry_after: float | None = None
    ) -> None:
        """Shortcut for ``fail(429, ...)``."""
        self.fail(429, times=times, kind=kind, retry_after=retry_after)

    def delay(
        self,
        seconds: float,
        *,
        times: int | None = 1,
        kind: str | None = None,
        at: int | None = None,
    ) -> None:
        """Hold the response back for ``seconds`` (to trip client timeouts)."""
        self.add(Fault.delay(seconds), times=times, kind=kind, at=at)

    def drop(
        self,
        *,
        times: int | None = 1,
        kind: str | None = None,
        at: int | None = None,
        applied: bool = False,
    ) -> None:
        """Close the connection without answering (requests raises ConnectionError)."""
        self.add(Fault.drop(applied=applied), times=times, kind=kind, at=at)

    def random(
        self,
        *,
        seed: int,
        probability: float,
        faults: list[Fault] | None = None,
        kind: str | None = None,
    ) -> None:
        """Each request (matching ``kind``) fails with ``probability``, reproducibly."""
        choices = faults or [Fault.http(429), Fault.http(500), Fault.http(503), Fault.drop()]
        with self._lock:
            self._random = (random.Random(seed), probability, choices, kind)

    def clear(self) -> None:
        """Forget every planned fault (the history in ``injected`` is kept)."""
        with self._lock:
            self.rules.clear()
            self._random = None

    @property
    def pending(self) -> int:
        """How many scheduled (non-random) faults are still to come; -1 if one is endless."""
        with self._lock:
            if any(rule.remaining is None for rule in self.rules):
                return -1
            return sum(rule.remaining or 0 for rule in self.rules)

    def pick(self, index: int, kind: str | None, is_read: bool) -> Fault | None:
        """The fault for request ``index`` (consumed), or None."""
        with self._lock:
            for rule in self.rules:
                if rule.at is not None and rule.at != index:
                    continue
                if not kind_matches(rule.kind, kind, is_read):
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self.rules.remove(rule)
                self.injected.append(Injected(index, kind, rule.fault))
                return rule.fault
            if self._random is not None:
                rng, probability, choices, only = self._random
                if kind_matches(only, kind, is_read):
                    roll, choice = rng.random(), rng.choice(choices)
                    if roll < probability:
                        self.injected.append(Injected(index, kind, choice))
                        return choice
        return None
