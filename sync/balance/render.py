"""The balance page's HTML: jinja2 templates, autoescaped, with the CSS inlined.

No external asset and no script: the page is one HTML response whose only
style is one ``<style>`` element, allowed by its hash in the
Content-Security-Policy (:data:`CSP`), so not even an inline style attribute
would apply if one slipped in.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from notifier.format import nice_date, plural
from sync.balance.pages import ClientPage

_LOADER = PackageLoader("sync.balance", "templates")


@cache
def _css() -> str:
    source, _, _ = _LOADER.get_source(Environment(), "balance.css")
    return source.strip()


def style_hash() -> str:
    """The CSP source for the one inline ``<style>``: ``'sha256-...'``."""
    digest = hashlib.sha256(_css().encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


#: Nothing may load but the inline style; no scripts, frames, forms or base changes.
CSP = (
    f"default-src 'none'; style-src {style_hash()}; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def updated(stamp: str) -> str:
    """``2026-11-22T14:05:00+00:00`` -> ``Sun 22 Nov 2026 at 14:05``."""
    moment = datetime.fromisoformat(stamp)
    return f"{nice_date(moment.date())} at {moment:%H:%M}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=_LOADER,
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(nice_date=nice_date, plural=plural, updated=updated)
    env.globals["css"] = Markup(_css())
    return env


def page_html(page: ClientPage | None) -> str:
    """A client's page; None: their link is good but nothing is published for them yet."""
    return environment().get_template("page.html").render(page=page)


@cache
def not_found_html() -> str:
    """The one body every unknown address gets, whatever it was."""
    return environment().get_template("not_found.html").render()


@cache
def too_many_html() -> str:
    return environment().get_template("too_many.html").render()
