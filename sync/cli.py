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
from rules.words import plural
from sync import balance, bootstrap, logs, service
from sync.checks import check as check_all
from sync.config import config_path, load
from sync.cycle import (
    run_cycle,
    today_in,
)
from sync.daemon import Daemon
from sync.errors import EXIT_CONFIG, EXIT_ERROR, EXIT_WORKBOOK, CreditsheetError
from sync.export import export as export_ledger
from sync.lock import InstanceLock
from sync.reporting import report_text, retry_pending_now, send_report, test_email
from sync.store import Store
from sync.views import cycle_json, not_written, status_text, sync_text

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

    \b
    Example:
        creditsheet init --demo
        creditsheet sync --config config.toml
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
        click.echo(f"workbook: {backend.location}")


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
        cycle = service.dry_run(config, bootstrap.backend(config), now=bootstrap.now())
    else:
        with bootstrap.resources(config) as resources:
            cycle = service.sync_once(resources, now=bootstrap.now, by_hand=True)
    if as_json:
        click.echo(json.dumps(cycle_json(cycle), ensure_ascii=False))
    elif not quiet or cycle.blocked:
        click.echo(sync_text(cycle))
    if (failure := not_written(cycle)) is not None:
        raise CommandFailed(failure, EXIT_WORKBOOK)


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
    checked = check_all(config, path, bootstrap.backend, now=bootstrap.now(), say=click.echo)
    if checked.broken:
        raise CommandFailed(
            "the workbook needs fixing before creditsheet can write to it", EXIT_WORKBOOK
        )
    if checked.trouble:
        raise CommandFailed(f"{plural(checked.trouble, 'thing')} to fix (see above)", EXIT_CONFIG)
    click.echo("all good")


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
    with bootstrap.resources(config) as resources:
        result = run_cycle(config, resources.backend, now=bootstrap.now(), dry_run=True).result
        if not send:
            click.echo(report_text(result, config, bootstrap.now()))
            return
        counts = send_report(result, resources.store, resources.sender, config, bootstrap.now())
    if not counts.sent:
        raise CommandFailed(
            f"the report could not be sent yet via {resources.sender.via}: it stays queued and "
            "`creditsheet run` or the next `creditsheet sync` retries it",
            EXIT_ERROR,
        )
    click.echo(f"sent the report to {', '.join(config.email.to)} via {resources.sender.via}")


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
    said = export_ledger(config, backend, target, now=bootstrap.now(), force=force)
    for line in [] if quiet else said:
        click.echo(line)


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
    click.echo(f"sent '{message['Subject']}' to {message['To']} via {sender.via}")
    waiting = retry_pending_now(config, bootstrap.now())
    if waiting:
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
    for line in status_text(config, bootstrap.now(), daemon=holder):
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
    """Manage the clients' private balance links.

    \b
    Example:
        creditsheet balance rotate "Ann Lee"
    """


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
