"""The explorer's grid of items: a checkbox and an edit link per row, inside the form that deletes the
checked rows (bulk.py)."""

from __future__ import annotations

from typing import Any

import orjson

from .keys import Key
from .markup import EMPTY, Safe, csrf_field, html, join, segment, url
from .values import cell, kind


def columns(key: Key, items: list[dict[str, Any]]) -> list[str]:
    """Key attributes first, then every other attribute in order of first appearance."""
    found = [c for c in (key.pk, key.sk) if c]
    seen = set(found)
    for item in items:
        for attribute in item:
            if attribute not in seen:
                seen.add(attribute)
                found.append(attribute)
    return found


def items_table(name: str, key: Key, items: list[dict[str, Any]], token: str, back: str) -> Safe:
    """Items as a grid whose checked rows the form under it deletes (`back`: the query to come back to)."""
    shown = columns(key, items)
    link = "/console/tables/" + segment(name)
    rows = []
    for item in items:
        found = {a: item[a] for a in (key.pk, key.sk) if a and a in item}
        item_key = orjson.dumps(found).decode()
        select = html('<input type="checkbox" name="key" value="{}" aria-label="select"> <a href="{}">edit</a>',
                      item_key, url(link + "/item", key=item_key)) if found else EMPTY
        cells = join(html('<td title="{}">{}</td>', kind(item[c]), cell(item[c])) if c in item else Safe("<td></td>")
                     for c in shown)
        rows.append(html("<tr><td>{}</td>{}</tr>", select, cells))
    head = join(html("<th>{}</th>", c) for c in shown)
    return html(
        '<form method="post" action="{link}/items/delete" id="bulk">{csrf}<input type="hidden" name="back" '
        'value="{back}"><table class="grid" id="items"><thead><tr><th><input type="checkbox" id="select-all" '
        'aria-label="select all"></th>{head}</tr></thead><tbody>{rows}</tbody></table>'
        '<p class="row"><button type="submit" class="danger" id="delete-selected" '
        'data-confirm="Delete the selected items?">Delete selected</button> <span class="muted">BatchWriteItem, '
        '25 keys a batch, unprocessed keys retried</span></p></form>',
        link=link, csrf=csrf_field(token), back=back, head=head, rows=join(rows))
