"""The one place that turns a config into what the program runs with: backend, mail
sender, clock, layout, and all of them together for one workbook's cycles
(:func:`resources`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime

from notifier.outbox import FileSender
from notifier.send import Sender
from notifier.smtp import SmtpSender
from rules.schema import SESSIONS, TABS, Column
from sync.backends.base import Backend, Layout
from sync.calendar.plan import EVENT
from sync.config import Config, ConfigError
from sync.demo import demo_calendar, demo_rows
from sync.service import Resources
from sync.store import Store


def backend(config: Config) -> Backend:
    if config.workbook.backend == "xlsx":
        from sync.backends.xlsx import XlsxBackend

        return XlsxBackend(config.workbook_path)
    if config.workbook.backend == "google":
        from sync.backends.google import ENDPOINT_ENV, GoogleBackend

        endpoint = os.environ.get(ENDPOINT_ENV) or None
        given = config.workbook.credentials
        if not given and not endpoint:
            raise ConfigError(
                f'{config.source}: [workbook] credentials: required when backend = "google" '
                "(the service-account key file, see docs/google.md)"
            )
        try:
            return GoogleBackend.from_environment(
                config.workbook.spreadsheet or "", config.resolve(given) if given else None
            )
        except ValueError as err:
            raise ConfigError(f"{config.source}: [workbook] spreadsheet: {err}") from None
    raise ConfigError(
        f"{config.source}: [workbook] backend: '{config.workbook.backend}' is not available "
        "in this build"
    )


def sender(config: Config, environ: Mapping[str, str]) -> Sender:
    """The configured sender: files in ``[email] outbox``, or SMTP with the password
    from the environment variable ``[email] password_env`` names."""
    if config.email.backend == "smtp":
        env = config.email.password_env
        return SmtpSender(config.email, environ.get(env) if env else None)
    return FileSender(config.outbox_path)


def now() -> datetime:
    """The real clock, as an aware datetime; everything else takes it as a parameter."""
    return datetime.now(UTC)


def layout(config: Config, *, demo_for: date | None = None) -> Layout:
    """The tabs ``init`` prepares, with the demo practice dated around ``demo_for``.

    The tabs hold exactly the columns to prepare: a column the config leaves off
    (``Balance link`` without the balance page) is not in them, and with the
    calendar import on, Sessions also gets its ``Event`` column.
    """
    event = (Column(EVENT),) if config.calendar.enabled else ()
    tabs = []
    for tab in TABS:
        columns = tuple(
            c for c in tab.columns if c.name != "Balance link" or config.balance.enabled
        )
        if tab.name == SESSIONS.name and event:
            # after the input columns, before the computed ones
            columns = (
                *(c for c in columns if not c.computed),
                *event,
                *(c for c in columns if c.computed),
            )
        tabs.append(replace(tab, columns=columns))
    return Layout(
        tabs=tuple(tabs),
        demo=demo_rows(demo_for) if demo_for else {},
    )


def demo_feeds(config: Config, today: date) -> list[str]:
    """For ``init --demo``: the demo's bookings written to each ``.ics`` file feed that
    is not there yet; what was done."""
    done = []
    for feed in config.calendar.feeds:
        if "://" in feed:
            continue
        path = config.resolve(feed.strip())
        if not path.exists():
            path.write_bytes(demo_calendar(today))
            done.append(f"wrote the demo's bookings to {path.name} ([calendar] feeds)")
    return done


def resources(config: Config) -> Resources:
    """Backend, state store and mail sender for one workbook's cycles."""
    from sync.calendar.importer import CalendarImport

    store = Store(config.state_path)
    calendar = (
        CalendarImport.for_config(config, store.calendar) if config.calendar.enabled else None
    )
    return Resources(
        config=config,
        backend=backend(config),
        store=store,
        sender=sender(config, os.environ),
        calendar=calendar,
    )


def workbook_id(config: Config) -> str:
    """What identifies the workbook for the one-daemon-per-workbook lock."""
    if config.workbook.backend == "google":
        return f"google:{config.workbook.spreadsheet}"
    return f"xlsx:{config.workbook_path.resolve()}"
