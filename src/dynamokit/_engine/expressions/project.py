"""ProjectionExpression: selecting document paths out of an item."""

from __future__ import annotations

from .attrs import AttrValue
from .evaluate import Item, Names, resolve
from .nodes import Path
from .parsed import ProjectionAST

# A selection tree: each key selects a map key or list index; None selects the whole value below it.
_Tree = dict[str | int, "_Tree | None"]


def resolve_path(path: Path, names: Names) -> tuple[str | int, ...]:
    """A path's parts with `#name` placeholders replaced by attribute names."""
    return resolve(path.parts, names)


def project(ast: ProjectionAST, item: Item, names: Names) -> Item:
    """The item cut down to the projected paths; missing paths are simply absent."""
    return project_paths(item, [resolve(path.parts, names) for path in ast.paths])


def project_paths(item: Item, paths: list[tuple[str | int, ...]]) -> Item:
    """The item cut down to resolved paths; list elements come back compacted in index order."""
    tree: _Tree = {}
    for path in paths:
        node = tree
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if child is None:
                break
            node = child
        else:
            node[path[-1]] = None
    out: Item = {}
    for name, selection in tree.items():
        value = item.get(name)  # type: ignore[arg-type]
        picked = _pick(value, selection) if value is not None else None
        if picked is not None:
            out[name] = picked  # type: ignore[index]
    return out


def _pick(value: AttrValue, selection: _Tree | None) -> AttrValue | None:
    if selection is None:
        return value
    if "L" in value:
        items = value["L"]
        chosen = [_pick(items[i], selection[i]) for i in sorted(k for k in selection if type(k) is int)
                  if i < len(items)]
        kept = [x for x in chosen if x is not None]
        return {"L": kept} if kept else None
    if "M" in value:
        fields = value["M"]
        kept_fields = {}
        for key, sub in selection.items():
            if type(key) is str and key in fields:
                picked = _pick(fields[key], sub)
                if picked is not None:
                    kept_fields[key] = picked
        return {"M": kept_fields} if kept_fields else None
    return None
