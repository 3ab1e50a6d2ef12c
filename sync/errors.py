"""The one root of every error creditsheet raises on purpose, with its exit status.

Each error's message is for the practitioner: it says what is wrong and what
to do, never a Python exception name and never a secret. The command line maps
the whole tree to exit statuses in one place (``sync.cli.command``), reading
``exit_status`` off the error; anything else is a bug, exit status 1::

    CreditsheetError                   1  an error the practitioner can act on
    ├── ConfigError                    2  sync.config: a config it cannot start with
    ├── AlreadyRunning                 2  sync.lock: another process holds the workbook
    ├── ExportError                    2  sync.export: the ledger cannot go where asked
    │   └── NoLedger                   3    the workbook's structure is broken
    ├── WorkbookUnavailable            3  sync.backends.base: the workbook cannot be read
    ├── CommandFailed                  *  sync.cli: a command stops with the status given
    ├── ReportError                    1  sync.reporting: a report cannot go out
    ├── StateError                     1  the state store cannot be used
    ├── BalanceError                   1  sync.balance.tokens: the balance page cannot
    │   └── UnknownClient              2    no client of that name has a link
    ├── SendError                      1  notifier.send: a message could not be sent
    ├── AddressError                   1  notifier.messages: not an email address
    ├── FeedError                      1  sync.calendar.feeds: a feed cannot be read
    └── ParseError                     1  sync.calendar.parse: a feed is not iCalendar

Exit status 0 means done: row problems are written into the sheet, not raised.
"""

from __future__ import annotations

#: The exit statuses: 1 an error, 2 bad usage or bad config, 3 the workbook
#: cannot be reached or its structure is broken (nothing was written).
EXIT_ERROR, EXIT_CONFIG, EXIT_WORKBOOK = 1, 2, 3


class CreditsheetError(Exception):
    """An error whose message the practitioner can act on; the command line exits
    with its ``exit_status``."""

    exit_status = EXIT_ERROR
