"""The config file: a TOML file loaded into strict pydantic models.

Unknown keys, wrong types and impossible values are refused with a
:class:`ConfigError` whose message names the file and the key. Relative paths
are resolved against the folder of the config file. Secrets never live here:
``[email] password_env`` names the environment variable that holds one.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rules.model import Settings
from rules.schema import OUTCOME_WORDS, Outcome
from rules.values import key
from sync.errors import EXIT_CONFIG, CreditsheetError

ENV_CONFIG = "CREDITSHEET_CONFIG"
DEFAULT_CONFIG = "config.toml"


class ConfigError(CreditsheetError):
    """A config the program cannot start with; the message is for the practitioner."""

    exit_status = EXIT_CONFIG


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class WorkbookConfig(_Section):
    backend: Literal["xlsx", "google"] = "xlsx"
    path: str = "practice.xlsx"
    spreadsheet: str | None = None
    credentials: str | None = None
    date_order: Literal["DMY", "MDY"] | None = None


class SyncConfig(_Section):
    interval_seconds: Annotated[int, Field(ge=1, le=86_400)] = 60
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"'{value}' is not a time zone name (e.g. Europe/London)"
                ) from None
        return value


class RulesConfig(_Section):
    low_credit_threshold: Annotated[int, Field(ge=0, le=1000)] = 2
    expiry_warning_days: Annotated[int, Field(ge=1, le=365)] = 7
    deduct_outcomes: list[str] = Field(
        default_factory=lambda: [Outcome.ATTENDED.value, Outcome.NO_SHOW.value, "Late cancel"]
    )
    currency: str = "GBP"

    @field_validator("deduct_outcomes")
    @classmethod
    def _outcomes(cls, value: list[str]) -> list[str]:
        for item in value:
            if key(item) not in OUTCOME_WORDS:
                choices = ", ".join(o.value for o in Outcome)
                raise ValueError(f"'{item}' is not an outcome (choose from {choices})")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError(f"'{value}' is not a three-letter currency code such as GBP or EUR")
        return value

    def outcomes(self) -> frozenset[Outcome]:
        return frozenset(OUTCOME_WORDS[key(item)] for item in self.deduct_outcomes)


class EmailConfig(_Section):
    backend: Literal["file", "smtp"] = "file"
    outbox: str = "outbox"
    to: list[str] = Field(default_factory=list)
    sender: str = "creditsheet <creditsheet@localhost>"
    host: str | None = None
    port: Annotated[int, Field(ge=1, le=65_535)] | None = None
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+", address.strip()):
                raise ValueError(f"'{address}' is not an email address")
        return value

    @model_validator(mode="after")
    def _smtp_needs_host(self) -> EmailConfig:
        if self.backend == "smtp" and not self.host:
            raise ValueError('host: required when backend = "smtp"')
        if self.password_env and not self.username:
            raise ValueError("username: required when password_env is set")
        return self


class ReportConfig(_Section):
    every: Literal["day", "week", "off"] = "week"
    at: str = "08:00"

    @field_validator("at")
    @classmethod
    def _clock(cls, value: str) -> str:
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
        if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            raise ValueError(f"'{value}' is not a time of day like 08:00")
        return value


class NotifyConfig(_Section):
    clients: bool = False
    #: Where a client buys more sessions: in low and used-up notices and on the balance page.
    renew_url: str | None = None

    @field_validator("renew_url")
    @classmethod
    def _renew(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError(f"'{value}' is not an http(s) address")
        return value


class BalanceConfig(_Section):
    enabled: bool = False
    base_url: str = "http://127.0.0.1:8080"
    listen: str = "127.0.0.1:8080"

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError(f"'{value}' is not an http(s) address")
        return value.rstrip("/")

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65_536:
            raise ValueError(f"'{value}' is not host:port, e.g. 127.0.0.1:8080")
        return value


class CalendarConfig(_Section):
    """The calendar import (opt-in): booking feeds whose events become Sessions rows."""

    #: ICS addresses (``https://``, ``http://``, ``webcal://``) or ``.ics`` files
    #: (relative to the config file). Addresses are secrets: only their host is shown.
    feeds: list[str] = Field(default_factory=list)
    #: No event before this date is imported (default: the day the import first ran).
    since: date | None = None
    horizon_days: Annotated[int, Field(ge=1, le=3660)] = 60
    late_cancel_hours: Annotated[float, Field(ge=0, le=24 * 365)] = 24
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0

    @field_validator("since", mode="before")
    @classmethod
    def _since(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(f"'{value}' is not a date like 2026-12-01") from None
        if isinstance(value, datetime):
            return value.date()
        return value

    @field_validator("late_cancel_hours", mode="before")
    @classmethod
    def _hours(cls, value: object) -> object:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("feeds")
    @classmethod
    def _feeds(cls, value: list[str]) -> list[str]:
        for feed in value:
            if not feed.strip():
                raise ValueError("a feed is blank (give an ICS address or an .ics file)")
            scheme = feed.strip().split("://", 1)[0].casefold() if "://" in feed else None
            if scheme is not None and scheme not in {"http", "https", "webcal", "webcals"}:
                raise ValueError(
                    f"a feed starts with '{scheme}://': give an http(s) or webcal address, "
                    "or an .ics file"
                )
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.feeds)


class StateConfig(_Section):
    path: str = "creditsheet-state.sqlite"


class Config(_Section):
    """The whole config; ``source`` is the file it came from."""

    workbook: WorkbookConfig = WorkbookConfig()
    sync: SyncConfig = SyncConfig()
    rules: RulesConfig = RulesConfig()
    email: EmailConfig = EmailConfig()
    report: ReportConfig = ReportConfig()
    notify: NotifyConfig = NotifyConfig()
    balance: BalanceConfig = BalanceConfig()
    calendar: CalendarConfig = CalendarConfig()
    state: StateConfig = StateConfig()
    source: Path = Field(default=Path(DEFAULT_CONFIG), exclude=True)

    @model_validator(mode="after")
    def _google_needs_sheet(self) -> Config:
        if self.workbook.backend == "google" and not self.workbook.spreadsheet:
            raise ValueError(
                '[workbook] spreadsheet: required when backend = "google" (the sheet\'s URL or key)'
            )
        return self

    def resolve(self, path: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        given = Path(path).expanduser()
        return given if given.is_absolute() else self.source.parent / given

    @property
    def workbook_path(self) -> Path:
        return self.resolve(self.workbook.path)

    @property
    def state_path(self) -> Path:
        return self.resolve(self.state.path)

    @property
    def outbox_path(self) -> Path:
        return self.resolve(self.email.outbox)

    def settings(self, *, numbers_are_dates: bool) -> Settings:
        return Settings(
            low_credit_threshold=self.rules.low_credit_threshold,
            expiry_warning_days=self.rules.expiry_warning_days,
            deduct_outcomes=self.rules.outcomes(),
            date_order=self.workbook.date_order,
            numbers_are_dates=numbers_are_dates,
            balance_links=self.balance.enabled,
        )


def config_path(given: str | None) -> Path:
    return Path(given or os.environ.get(ENV_CONFIG) or DEFAULT_CONFIG)


def load(path: Path) -> Config:
    """Read and validate a config file, or raise :class:`ConfigError`."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"no config file at {path} (copy config.example.toml to config.toml, or pass --config)"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot be read ({err})") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    return parse(raw, path)


def parse(raw: dict[str, Any], source: Path) -> Config:
    try:
        return Config.model_validate({**raw, "source": source.absolute()})
    except ValidationError as err:
        raise ConfigError(f"{source}: " + "; ".join(_describe(e) for e in err.errors())) from None


def _describe(error: Any) -> str:
    loc = [str(part) for part in error["loc"]]
    where = ""
    section_only = False
    if loc:
        section, rest = loc[0], loc[1:]
        if section in Config.model_fields and section != "source":
            where = f"[{section}] " + ".".join(rest)
            section_only = not rest
        else:
            where = ".".join(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        message = "unknown key"
    elif kind == "missing":
        message = "missing"
    elif kind in {"int_type", "int_parsing", "int_from_float"}:
        message = f"must be a whole number (got {error['input']!r})"
    elif kind in {"bool_type", "bool_parsing"}:
        message = f"must be true or false (got {error['input']!r})"
    elif kind in {"string_type"}:
        message = f"must be text in quotes (got {error['input']!r})"
    elif kind in {"float_type", "float_parsing"}:
        message = f"must be a number (got {error['input']!r})"
    elif kind in {"list_type"}:
        message = f'must be a list like ["a", "b"] (got {error["input"]!r})'
    elif kind == "model_type" or kind == "dict_type":
        message = "must be a [section] table"
    elif kind == "literal_error" or kind in {
        "greater_than_equal",
        "less_than_equal",
        "greater_than",
        "less_than",
    }:
        message = f"{error['msg'].replace('Input should be', 'must be')} (got {error['input']!r})"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    if section_only and kind not in {"model_type", "dict_type", "extra_forbidden"}:
        return f"{where}{message}"
    return f"{where.strip()}: {message}" if where else message
