"""The ``creditsheet`` command line: a thin layer over config, backends and the cycle.

Exit status: 0 done (row problems are reported, not failures); otherwise the
``exit_status`` of the error that stopped the command (the tree and its
statuses are drawn in :mod:`sync.errors`), 1 for anything unexpected. Errors go
to stderr as ``Error: ...``, with a traceback only under ``-v``.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from notifier.send import SendError
from notifier.smtp import RETRIED
from rules.accounts import accounts
from rules.words import plural
from sync import balance, bootstrap, logs
from sync.calendar.importer import CalendarImport
from sync.calendar.report import check_lines as calendar_check
from sync.calendar.report import status_lines as calendar_status
from sync.config import Config, config_path, load
from sync.cycle import (
    CycleReport,
    carry_out,
    cycle_report,
    decide_cycle,
    gather,
    run_cycle,
    today_in,
)
from sync.daemon import Daemon
from sync.errors import EXIT_CONFIG, EXIT_ERROR, EXIT_WORKBOOK, CreditsheetError
from sync.export import default_name, write, write_csv
from sync.keyfile import check_key_file
from sync.lock import InstanceLock
from sync.reporting import report_text, send_report, test_email
from sync.schedule import zone_of
from sync.service import balance_links, sync_once
from sync.store import Store
from sync.views import change_lines, cycle_json, status_lines, summary

log = logging.getLogger("creditsheet")

F = TypeVar("F", bound=Callable[..., Any])


class CommandFailed(CreditsheetError):
    """A command stops for a reason of its own, with the exit status given."""

    def __init__(self, message: str, exit_status: int) -> None:
        super().__init__(message)
        self.exit_status = exit_status


def _version() -> str:
    try:
        return version("creditsheet")
    except PackageNotFoundError:
        return "unknown"


def setup_logging(verbose: bool, quiet: bool, *, chatty: bool = False) -> None:
    """Warnings and errors by default (a command's own output says what it did);
    the daemon, whose log is its output, also logs each cycle."""
    level = logging.DEBUG if verbose else logging.INFO if chatty and not quiet else logging.WARNING
    logs.setup(level)


#: The options every command takes, before or after its name: (parameter, decls, kwargs).
COMMON_OPTIONS: tuple[tuple[str, tuple[str, ...], dict[str, Any]], ...] = (
    (
        "config_file",
        ("--config", "config_file"),
        {
            "metavar": "PATH",
            "help": "Config file (default: $CREDITSHEET_CONFIG, else ./config.toml).",
        },
    ),
    ("verbose", ("-v", "--verbose"), {"is_flag": True, "help": "Say more; show tracebacks."}),
    ("quiet", ("-q", "--quiet"), {"is_flag": True, "help": "Only warnings and errors."}),
)


def common_options(func: F, *, hidden: bool = False) -> F:
    """Put the common options on a command, or (``hidden``) on a group, whose help
    does not list them again: each command's own help does."""
    for _, decls, kwargs in reversed(COMMON_OPTIONS):
        func = click.option(*decls, hidden=hidden, **kwargs)(func)
    return func


def group_options(func: F) -> F:
    return common_options(func, hidden=True)


def common_values(ctx: click.Context) -> dict[str, Any]:
    """Each common option's value: as given after the command's name, else as given
    before it (``creditsheet --config c.toml sync``), else its default."""
    values: dict[str, Any] = {}
    for name, _, _ in COMMON_OPTIONS:
        level: click.Context | None = ctx
        values[name] = ctx.params.get(name)
        while level is not None:
            source = level.get_parameter_source(name)
            if source is not None and source is not ParameterSource.DEFAULT:
                values[name] = level.params[name]
                break
            level = level.parent
    return values


def command(func: F) -> F:
    """The options every command takes, and errors turned into exit statuses."""

    @functools.wraps(func)
    def wrapper(config_file: str | None, verbose: bool, quiet: bool, **kwargs: Any) -> Any:
        given = common_values(click.get_current_context())
        config_file, verbose, quiet = given["config_file"], given["verbose"], given["quiet"]
        setup_logging(verbose, quiet, chatty=func.__name__ == "run")
        try:
            return func(config_path(config_file), quiet=quiet, **kwargs)
        except BrokenPipeError:  # the reader went away (`creditsheet status | head -1`)
            _reader_gone()
        except CreditsheetError as err:  # the one place errors become exit statuses
            _fail(str(err), err.exit_status, verbose)
        except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt):
            raise
        except Exception as err:  # the last line of defence: say it plainly
            _fail(f"{type(err).__name__}: {err}", EXIT_ERROR, verbose)

    return common_options(wrapper)  # type: ignore[return-value]


def _reader_gone() -> None:
    """End quietly when standard output's reader has closed it: what was printed was
    all it wanted. Standard output goes to /dev/null first, so the interpreter's last
    flush finds nowhere to fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor behind it (captured output)
        pass
    finally:
        os.close(devnull)
    sys.exit(0)


def _fail(message: str, code: int, verbose: bool) -> None:
    if verbose:
        traceback.print_exc()
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="creditsheet")
@group_options
def cli(config_file: str | None, verbose: bool, quiet: bool) -> None:
    """creditsheet keeps the prepaid-session credits in your spreadsheet right.

    It reads the Clients, Packages, Sessions and Templates tabs, deducts each
    session from the right package, applies expiry, and writes back what is
    left, statuses and colors. Start with `creditsheet init --demo` and
    `creditsheet sync`.

    Every command takes --config PATH, -v/--verbose and -q/--quiet, before or
    after its name (`creditsheet --config c.toml sync` is `creditsheet sync
    --config c.toml`); `creditsheet COMMAND --help` lists them with the
    command's own options.
    """


@cli.command()
@click.option("--demo", is_flag=True, help="Also fill in a small example practice.")
@command
def init(path: Path, *, quiet: bool, demo: bool) -> None:
    """Prepare the workbook: tabs, headers, frozen header rows, dropdowns.

    Creates the workbook (xlsx) or its missing tabs and columns. Never deletes
    or reorders anything that is there.

    \b
    Example:
        creditsheet init --demo --config config.toml
    """
    config = load(path)
    backend = bootstrap.backend(config)
    today = today_in(bootstrap.now(), config.sync.timezone)
    done = backend.prepare(bootstrap.layout(config, demo_for=today if demo else None))
    if demo:
        done += bootstrap.demo_feeds(config, today)
    if not quiet:
        for line in done or ["nothing to do: the workbook already has every tab and column"]:
            click.echo(line)
        click.echo(f"workbook: {backend.where}")


@cli.command()
@click.option("--dry-run", is_flag=True, help="Print what would change; write and send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@command
def sync(path: Path, *, quiet: bool, dry_run: bool, as_json: bool) -> None:
    """Run one sync cycle: read, check, compute, write back.

    \b
    Example:
        creditsheet sync --dry-run
        creditsheet sync --json
    """
    config = load(path)
    if dry_run:
        report = _dry_run(config)
    else:
        parts = bootstrap.parts(config)
        try:
            report = sync_once(parts, now=bootstrap.now, by_hand=True)
        finally:
            parts.close()
    if as_json:
        click.echo(json.dumps(cycle_json(report), ensure_ascii=False))
    elif not quiet or report.blocked:
        click.echo(summary(report))
        if dry_run:
            lines = change_lines(report.plan)
            click.echo("\nwould change:" if lines else "\nnothing would change")
            for line in lines:
                click.echo(f"  {line}")
    if report.blocked:
        raise CommandFailed(
            "the workbook's structure is broken, so nothing was written: "
            + "; ".join(str(p) for p in report.structural),
            EXIT_WORKBOOK,
        )
    outcome = report.outcome
    if outcome.reason and not outcome.written and not outcome.retry_next_cycle:
        raise CommandFailed(outcome.reason, EXIT_WORKBOOK)


def _dry_run(config: Config) -> CycleReport:
    """A cycle that writes nothing, creates no state store, and sends nothing."""
    backend = bootstrap.backend(config)
    at = bootstrap.now()
    uses_store = config.balance.enabled or config.calendar.enabled
    if not (uses_store and config.state_path.exists()):
        calendar = CalendarImport.for_config(config, None, record=False)
        return run_cycle(config, backend, now=at, dry_run=True, calendar=calendar)
    with Store(config.state_path) as store:  # show the links that already exist
        calendar = CalendarImport.for_config(config, store.calendar, record=False)
        gathered = gather(config, backend, now=at, calendar=calendar)
        links = balance_links(config, store, gathered.tables, at, create=False)
        decided = decide_cycle(config, gathered, links=links)
        outcome = carry_out(backend, gathered, decided, now=at, dry_run=True, calendar=calendar)
        return cycle_report(
            backend, gathered, decided, outcome, dry_run=True, calendar=calendar, links=links
        )


@cli.command()
@command
def check(path: Path, *, quiet: bool) -> None:
    """Check config, access to the workbook, its structure and email settings.

    Says in plain words what to fix. Writes nothing.

    \b
    Example:
        creditsheet check --config config.toml
    """
    config = load(path)
    click.echo(f"ok: config {path}")
    if config.workbook.backend == "google" and config.workbook.credentials:
        for warning in check_key_file(config.resolve(config.workbook.credentials)):
            click.echo(f"warning: {warning}")
    backend = bootstrap.backend(config)
    calendar = CalendarImport.for_config(config, None, record=False)
    report = run_cycle(config, backend, now=bootstrap.now(), dry_run=True, calendar=calendar)
    click.echo(f"ok: workbook {backend.where} can be read")
    trouble = 0
    for problem in report.structural:
        click.echo(f"problem: {problem}")
        trouble += 1
    for blocker in report.write_blockers:
        click.echo(f"problem: the workbook contains {blocker}; creditsheet will not save over it")
        trouble += 1
    if not report.structural:
        click.echo("ok: every required tab and column is there")
    if report.result.problems:
        click.echo(
            f"note: {plural(report.rows_with_problems(), 'row')} with problems; "
            "`creditsheet sync` writes each reason into that row's Sync note"
        )
    if calendar is not None:
        feed_lines, feed_trouble = calendar_check(calendar, bootstrap.now())
        for line in feed_lines:
            click.echo(line)
        trouble += feed_trouble
    trouble += _check_email(config)
    if report.blocked or report.write_blockers:
        raise CommandFailed(
            "the workbook needs fixing before creditsheet can write to it", EXIT_WORKBOOK
        )
    if trouble:
        raise CommandFailed(f"{plural(trouble, 'thing')} to fix (see above)", EXIT_CONFIG)
    click.echo("all good")


def _check_email(config: Config) -> int:
    email = config.email
    trouble = 0
    if not email.to:
        click.echo("note: [email] to is empty, so alerts and reports go to nobody")
    if email.backend == "file":
        folder = config.outbox_path
        parent = folder if folder.exists() else folder.parent
        if os.access(parent, os.W_OK):
            click.echo(f"ok: emails are written as files to {folder}")
        else:
            click.echo(f"problem: [email] outbox: {folder} is not writable")
            trouble += 1
    else:
        click.echo(f"ok: emails go through {email.host}:{email.port or 'default port'}")
        if email.password_env and not os.environ.get(email.password_env):
            click.echo(
                f"problem: [email] password_env: the environment variable "
                f"{email.password_env} is not set"
            )
            trouble += 1
    return trouble


@cli.command()
@click.option("--send", is_flag=True, help="Email the report to [email] to instead of printing it.")
@command
def report(path: Path, *, quiet: bool, send: bool) -> None:
    """Render the periodic report from the workbook as it is now; print or email it.

    \b
    Example:
        creditsheet report
        creditsheet report --send
    """
    config = load(path)
    parts = bootstrap.parts(config)
    try:
        cycle = run_cycle(config, parts.backend, now=bootstrap.now(), dry_run=True)
        if not send:
            click.echo(report_text(cycle.result, config, bootstrap.now()))
            return
        counts = send_report(cycle.result, parts.store, parts.sender, config, bootstrap.now())
    finally:
        parts.close()
    if counts.sent:
        click.echo(f"sent the report to {', '.join(config.email.to)} via {parts.sender.where}")
    else:
        raise CommandFailed(
            f"the report could not be sent yet via {parts.sender.where}: it stays queued and "
            "`creditsheet run` or the next `creditsheet sync` retries it",
            EXIT_ERROR,
        )


@cli.command()
@click.option(
    "--to",
    "target",
    metavar="FILE",
    help="A .xlsx or .csv file, or - for CSV on standard output "
    "(default: ledger-YYYY-MM-DD.xlsx in this folder).",
)
@click.option("--force", is_flag=True, help="Replace FILE if it already exists.")
@command
def export(path: Path, *, quiet: bool, target: str | None, force: bool) -> None:
    """Write the ledger an accountant asks for, from the workbook as it is now.

    Every package with its client, price, credits bought, used and left,
    expiry and status; every session with the package it used and the value
    it used up; and, month by month, the sales, the value of the sessions
    used, the value expired unused and the prepaid liability at the month's
    end. A .xlsx file gets one tab for each; a .csv file has them one under
    the other. The workbook is read as a sync would read it and nothing is
    written to it. An existing FILE is never replaced without --force.

    \b
    Example:
        creditsheet export --to ledger-2026.xlsx
        creditsheet export --to ledger.csv --force
    """
    config = load(path)
    backend = bootstrap.backend(config)
    cycle = run_cycle(config, backend, now=bootstrap.now(), dry_run=True)
    if cycle.blocked:
        raise CommandFailed(
            "the workbook's structure is broken, so there is no ledger to write: "
            + "; ".join(str(p) for p in cycle.structural),
            EXIT_WORKBOOK,
        )
    books = accounts(cycle.result)
    source = backend.where
    if target == "-":
        write_csv(books, sys.stdout, currency=config.rules.currency, source=source)
        return
    where = Path(target) if target else Path(default_name(books.today))
    write(
        books,
        where,
        currency=config.rules.currency,
        source=source,
        force=force,
        protected={"the workbook": config.workbook_path, "the state store": config.state_path},
    )
    if quiet:
        return
    click.echo(
        f"wrote the ledger to {where}: {plural(len(books.packages), 'package')}, "
        f"{plural(len(books.sessions), 'session')}, {plural(len(books.months), 'month')}"
    )
    if books.problems:
        click.echo(
            f"note: {plural(len(books.problems), 'row')} with problems "
            f"{'is' if len(books.problems) == 1 else 'are'} not in the ledger until fixed "
            "(listed on its About tab; each row's Sync note says what to fix)"
        )


@cli.command("test-email")
@command
def test_email_command(path: Path, *, quiet: bool) -> None:
    """Send one test email through the configured email backend.

    \b
    Example:
        creditsheet test-email
    """
    config = load(path)
    sender = bootstrap.sender(config, os.environ)
    try:
        message = test_email(config, sender, bootstrap.now())
    except SendError as err:  # a test email is sent straight away, never queued
        said = str(err).removesuffix("; " + RETRIED)
        raise CommandFailed(f"{said}; the test email was not sent", EXIT_ERROR) from None
    click.echo(f"sent '{message['Subject']}' to {message['To']} via {sender.where}")
    if not config.state_path.exists():
        return
    with Store(config.state_path) as store:
        waiting = len(store.outbox.pending())
        if waiting:
            store.outbox.request_retry(bootstrap.now())
            click.echo(
                f"{plural(waiting, 'email')} waiting in the outbox: a running `creditsheet run` "
                "tries them at its next cycle; `creditsheet sync` sends them now"
            )


@cli.command()
@command
def status(path: Path, *, quiet: bool) -> None:
    """The last cycles, the emails waiting to go out, the next report, the daemon.

    \b
    Example:
        creditsheet status
    """
    config = load(path)
    holder = InstanceLock(bootstrap.workbook_id(config)).holder()
    click.echo(f"daemon: running (pid {holder})" if holder else "daemon: not running")
    if not config.state_path.exists():
        click.echo("no cycle has run yet (no state store at " + str(config.state_path) + ")")
        return
    with Store(config.state_path) as store:
        for line in status_lines(store, config, bootstrap.now(), config.sync.timezone):
            click.echo(line)
        calendar = CalendarImport.for_config(config, None, record=False)
        if calendar is not None:
            zone = zone_of(config.sync.timezone, bootstrap.now())
            for line in calendar_status(store.calendar, calendar, zone):
                click.echo(line)


@cli.command()
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per line, for log collectors.",
)
@command
def run(path: Path, *, quiet: bool, log_format: str) -> None:
    """The daemon: a cycle every [sync] interval_seconds, the report on its schedule.

    Finishes the cycle in progress and exits 0 on SIGTERM or Ctrl-C (a second
    signal stops at once); SIGHUP re-reads the config. One per workbook.

    \b
    Example:
        creditsheet run --log-format json
    """
    if log_format == "json":
        logs.setup(logging.getLogger().level, "json")
    Daemon(path).run()


@cli.command()
@command
def serve(path: Path, *, quiet: bool) -> None:
    """Serve the client balance pages ([balance] enabled = true) on [balance] listen.

    Pages come from the last sync's results in the state store; the workbook
    is never read per request. Stops on SIGTERM or Ctrl-C.

    \b
    Example:
        creditsheet serve --config config.toml
    """
    config = load(path)
    if not config.balance.enabled:
        raise CommandFailed(
            f"{path}: [balance] enabled: the balance page is off; set it to true "
            "(and [balance] base_url to where clients will reach it)",
            EXIT_CONFIG,
        )
    balance.serve(config)


@cli.group("balance")
@group_options
def balance_group(config_file: str | None, verbose: bool, quiet: bool) -> None:
    """Manage the clients' private balance links."""


@balance_group.command("rotate")
@click.argument("client")
@command
def balance_rotate(path: Path, *, quiet: bool, client: str) -> None:
    """Give CLIENT a new balance link; the old one stops working at once.

    The Clients tab shows the new link after the next sync.

    \b
    Example:
        creditsheet balance rotate "Ann Lee"
    """
    config = load(path)
    with Store(config.state_path) as store:
        link = balance.rotate_by_name(
            store, client, bootstrap.now(), base_url=config.balance.base_url
        )
    click.echo(link)


def main() -> None:
    cli(prog_name="creditsheet")
