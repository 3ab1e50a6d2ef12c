"""``creditsheet check``: the config, the workbook, the feeds and the email settings,
each said in plain words as it is looked at.

    checked = check(config, path, bootstrap.backend, now=now, say=print)
    checked.broken     # the workbook must be fixed before the sync can write it
    checked.trouble    # how many other things to fix

Nothing is written: the workbook is read by a dry-run cycle.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rules.words import plural
from sync.backends.base import Backend
from sync.calendar.importer import CalendarImport
from sync.calendar.views import check_lines as calendar_check
from sync.config import Config
from sync.cycle import run_cycle
from sync.keyfile import check_key_file


@dataclass(frozen=True)
class Checked:
    #: The workbook's structure is broken, or it holds what the sync will not save over.
    broken: bool
    #: How many other things there are to fix.
    trouble: int


def check(
    config: Config,
    path: Path,
    make_backend: Callable[[Config], Backend],
    *,
    now: datetime,
    say: Callable[[str], None],
) -> Checked:
    """Look at each thing in turn, saying each finding as it comes (so what was
    found is said even when a later step cannot be done)."""
    say(f"ok: config {path}")
    if config.workbook.backend == "google" and config.workbook.credentials:
        for warning in check_key_file(config.resolve(config.workbook.credentials)):
            say(f"warning: {warning}")
    backend = make_backend(config)
    calendar = CalendarImport.for_config(config, None, record=False)
    cycle = run_cycle(config, backend, now=now, dry_run=True, calendar=calendar)
    say(f"ok: workbook {backend.location} can be read")
    trouble = 0
    for problem in cycle.structural:
        say(f"problem: {problem}")
        trouble += 1
    for blocker in cycle.write_blockers:
        say(f"problem: the workbook contains {blocker}; creditsheet will not save over it")
        trouble += 1
    if not cycle.structural:
        say("ok: every required tab and column is there")
    if cycle.result.problems:
        say(
            f"note: {plural(cycle.rows_with_problems(), 'row')} with problems; "
            "`creditsheet sync` writes each reason into that row's Sync note"
        )
    if calendar is not None:
        feed_lines, feed_trouble = calendar_check(calendar, now)
        for line in feed_lines:
            say(line)
        trouble += feed_trouble
    trouble += check_email(config, say)
    return Checked(broken=bool(cycle.blocked or cycle.write_blockers), trouble=trouble)


def check_email(config: Config, say: Callable[[str], None]) -> int:
    """The email settings; how many things to fix."""
    email = config.email
    trouble = 0
    if not email.to:
        say("note: [email] to is empty, so alerts and reports go to nobody")
    if email.backend == "file":
        folder = config.outbox_path
        parent = folder if folder.exists() else folder.parent
        if os.access(parent, os.W_OK):
            say(f"ok: emails are written as files to {folder}")
        else:
            say(f"problem: [email] outbox: {folder} is not writable")
            trouble += 1
    else:
        say(f"ok: emails go through {email.host}:{email.port or 'default port'}")
        if email.password_env and not os.environ.get(email.password_env):
            say(
                f"problem: [email] password_env: the environment variable "
                f"{email.password_env} is not set"
            )
            trouble += 1
    return trouble
