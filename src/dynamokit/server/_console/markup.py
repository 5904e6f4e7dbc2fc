"""Auto-escaping HTML: `html("<td>{}</td>", value)` escapes every value that is not already `Safe`."""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import quote, urlencode


class Safe(str):
    """Markup that is already HTML (built by `html` or written here): inserted as is."""


EMPTY = Safe("")


def esc(value: Any) -> Safe:
    """`value` as HTML text: markup stays, anything else is escaped (quotes too, so it is safe in attributes)."""
    return value if isinstance(value, Safe) else Safe(escape(str(value), quote=True))


def html(template: str, *values: Any, **named: Any) -> Safe:
    """`template.format(...)` with every value escaped unless it is `Safe`. Templates are literals of ours."""
    return Safe(template.format(*(esc(v) for v in values), **{k: esc(v) for k, v in named.items()}))


def join(parts: Any, sep: str = "") -> Safe:
    """Pieces of markup (each escaped unless Safe) joined."""
    return Safe(sep.join(esc(p) for p in parts))


def pretty(value: Any) -> str:
    """JSON for people: indented, keys in their order, non-ASCII kept."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def url(path: str, **query: Any) -> str:
    """A console URL: `path` (segments already quoted by `segment`) with query parameters, empty ones left out."""
    pairs = {k: v for k, v in query.items() if v not in (None, "")}
    return path + ("?" + urlencode(pairs) if pairs else "")


def segment(text: str) -> str:
    """One path segment, percent-encoded."""
    return quote(text, safe="")


def page(title: str, body: Safe, token: str, nav: Safe = EMPTY) -> Safe:
    """The whole page around `body`: one stylesheet and one script, both served from the package."""
    return html(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="csrf-token" content="{token}"><title>{title} · dynamokit console</title>'
        '<link rel="stylesheet" href="/console/static/console.css">'
        '<script src="/console/static/console.js" defer></script></head><body>'
        '<header><a class="brand" href="/console/">dynamokit console</a>{nav}</header>'
        '<main>{body}</main></body></html>',
        token=token, title=title, nav=nav, body=body)


def csrf_field(token: str) -> Safe:
    return html('<input type="hidden" name="csrf" value="{}">', token)


def error_box(code: str, message: str) -> Safe:
    """DynamoDB's error, shown next to the form that caused it."""
    return html('<div class="error" role="alert"><strong>{}</strong>: {}</div>', code, message)


def code_block(text: str, label: str) -> Safe:
    """Preformatted text with a copy button (console.js)."""
    return html('<div class="code"><div class="code-head"><span>{}</span>'
                '<button type="button" class="copy">Copy</button></div><pre>{}</pre></div>', label, text)
