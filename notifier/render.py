"""The jinja2 environment: every email is a ``NAME.txt`` and a ``NAME.html`` template.

HTML templates are autoescaped, so a client named ``<b>Ann</b>`` shows literally;
text templates are not (they are never read as markup). Undefined names are
errors, so a typo in a template fails the tests instead of sending a blank.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from notifier.format import money, month_label, nice_date, plural


@dataclass(frozen=True, slots=True)
class Rendered:
    """One email's words: its subject and the same content as text and as HTML."""

    subject: str
    text: str
    html: str


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("notifier", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(money=money, nice_date=nice_date, month=month_label, plural=plural)
    return env


def render(name: str, subject: str, **context: Any) -> Rendered:
    """Render ``name.txt`` and ``name.html`` with the same context."""
    env = environment()
    context = {"subject": subject, **context}
    text = env.get_template(f"{name}.txt").render(context)
    html = env.get_template(f"{name}.html").render(context)
    return Rendered(subject, text.strip() + "\n", html)
