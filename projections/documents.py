"""How a read-model document is stored: a small *head* plus one *part* per entry of its
growing collections, so a change costs the entries it touched, not the whole history.

A document (the JSON form of ``EnterpriseState``, ``SupervisionState`` or an inbox) is
split by :func:`split` into ``{part name: JSON value}``:

* ``""`` — the head: the document with every split collection emptied;
* ``"<path>/<key>"`` — one entry of a dict-valued collection (``credit.records/D1``);
* ``"<path>#<block>"`` — a block of :data:`LIST_BLOCK` elements of an append-only list
  (``submissions#000000002`` holds elements 128..191); an append rewrites only the last block.

:func:`assemble` is its inverse (``assemble(split(d)) == d``). Stores keep the parts as
rows; readers get the assembled document; the processor writes only the parts it changed
(:class:`Tracker`).
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

SPLIT: dict[str, dict[str, str]] = {
    "enterprise:": {
        "credit.records": "dict",
        "rectification.items": "dict",
        "sync.deliveries": "dict",
        "submissions": "list",
        "credit.repairs_granted_on": "list",
        "inspections": "dict",
        "oversight.reviews": "dict",
        "oversight.findings": "dict",
        "oversight.complaints": "dict",
    },
    "supervision:": {"months": "dict", "seen": "dict"},
    "inbox:": {"pending": "dict", "seen": "dict"},
    "due:": {"streams": "dict"},
    "due-days": {"days": "dict"},
    "registry": {
        "departments": "dict",
        "subscriptions": "dict",
        "legacy_codes": "dict",
        "backfills": "dict",
        "supervisors": "dict",
    },
}
"""Key prefix -> the collections stored one row per entry (dotted path -> dict or list).
Nothing that grows with history stays in a head, so no single row (and no write of a
change) grows towards Cassandra's mutation limit (16 MiB by default); what is left in a
head is bounded (a record's own fields, the few list inclusions of an enterprise)."""

NEWLY_SPLIT: dict[str, tuple[str, ...]] = {
    "enterprise:": ("inspections", "oversight.reviews", "oversight.findings", "oversight.complaints"),
    "registry": ("departments", "subscriptions", "legacy_codes", "backfills", "supervisors"),
}
"""Collections that were kept in the head before (documents written then hold them there):
a writer that finds one there rewrites the document whole (:func:`held_in_head`)."""


def held_in_head(key: str, doc: dict[str, Any] | None) -> bool:
    """Whether ``doc`` (a whole document, or a stored head) has an entry in one of the
    :data:`NEWLY_SPLIT` collections. On a whole document that only says the next question is
    worth asking; on the stored head it means the document is in the older layout, and
    writing only its changed parts would leave the untouched entries in an old head that
    the new head replaces."""
    if doc is None:
        return False
    for prefix, paths in NEWLY_SPLIT.items():
        if key.startswith(prefix):
            return any(_get(doc, path) for path in paths)
    return False

HEAD = ""
LIST_WIDTH = 9
LIST_BLOCK = 64
"""Elements per stored block of a split list."""


def fields_for(key: str) -> dict[str, str]:
    for prefix, fields in SPLIT.items():
        if key.startswith(prefix):
            return fields
    return {}


def _get(doc: dict[str, Any], path: str) -> Any:
    node: Any = doc
    for name in path.split("."):
        if not isinstance(node, dict) or name not in node:
            return None
        node = node[name]
    return node


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    node = doc
    names = path.split(".")
    for name in names[:-1]:
        node = node.setdefault(name, {})
    node[names[-1]] = value


def list_part(path: str, index: int) -> str:
    return f"{path}#{index:0{LIST_WIDTH}d}"


def dict_part(path: str, key: str) -> str:
    return f"{path}/{key}"


def split(key: str, doc: dict[str, Any]) -> dict[str, Any]:
    """``{part: value}`` for a whole document (the head always included)."""
    fields = fields_for(key)
    if not fields:
        return {HEAD: doc}
    head = copy.copy(doc)
    out: dict[str, Any] = {}
    for path, kind in fields.items():
        value = _get(doc, path)
        # copy the containers on the way down so the head does not share them with ``doc``
        node = head
        names = path.split(".")
        for name in names[:-1]:
            if not isinstance(node.get(name), dict):
                break
            node[name] = copy.copy(node[name])
            node = node[name]
        if value is None:
            continue
        _set(head, path, {} if kind == "dict" else [])
        if kind == "dict":
            for k, v in value.items():
                out[dict_part(path, str(k))] = v
        else:
            for b in range(0, len(value), LIST_BLOCK):
                out[list_part(path, b // LIST_BLOCK)] = list(value[b:b + LIST_BLOCK])
    out[HEAD] = head
    return out


def assemble(key: str, parts: dict[str, Any]) -> dict[str, Any] | None:
    """The document from its parts (None without a head)."""
    if HEAD not in parts:
        return None
    doc: dict[str, Any] = copy.deepcopy(parts[HEAD]) if len(parts) > 1 else parts[HEAD]
    fields = fields_for(key)
    lists: dict[str, list[tuple[int, Any]]] = {}
    for name, value in parts.items():
        if name == HEAD:
            continue
        path, sep, rest = _partition(name, fields)
        if not sep:
            continue
        if sep == "/":
            container = _get(doc, path)
            if not isinstance(container, dict):
                container = {}
                _set(doc, path, container)
            container[rest] = value
        else:
            lists.setdefault(path, []).append((int(rest), value))
    for path, blocks in lists.items():
        _set(doc, path, [v for _, block in sorted(blocks) for v in block])
    return doc


def _partition(name: str, fields: dict[str, str]) -> tuple[str, str, str]:
    cut = min((i for i in (name.find("/"), name.find("#")) if i >= 0), default=-1)
    if cut > 0 and name[:cut] in fields:
        return name[:cut], name[cut], name[cut + 1:]
    return name, "", ""


# --------------------------------------------------------------------------- change tracking


class TrackingDict(dict[Any, Any]):
    """A dict that remembers every key reached by key (read or written) since ``reset``.

    The processor puts these in place of a loaded document's split collections; the entries
    a fold reaches by key are the ones it may have changed, and only those are written. (A
    fold that changes an entry it reached only by iterating the collection must also reach
    it by key; ``tests/unit/test_incremental_storage.py`` checks incremental == rebuild.)"""

    __slots__ = ("touched",)

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.touched: set[Any] = set()

    def __getitem__(self, key: Any) -> Any:
        self.touched.add(key)
        return super().__getitem__(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.touched.add(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        self.touched.add(key)
        super().__delitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self.touched.add(key)
        return super().get(key, default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self.touched.add(key)
        return super().setdefault(key, default)

    def pop(self, key: Any, *default: Any) -> Any:
        self.touched.add(key)
        return super().pop(key, *default)

    def popitem(self) -> tuple[Any, Any]:  # pragma: no cover - folds never do this
        item = super().popitem()
        self.touched.add(item[0])
        return item

    def update(self, *args: Any, **kw: Any) -> None:
        for k, v in dict(*args, **kw).items():
            self[k] = v

    def clear(self) -> None:
        self.touched.update(self.keys())
        super().clear()

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[Any, Any]:
        return {copy.deepcopy(k, memo): copy.deepcopy(v, memo) for k, v in self.items()}


def _json(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


class _Path:
    """One split collection of a kind of document, its dotted path taken apart once."""

    __slots__ = ("exclude", "is_dict", "last", "parents", "path")

    def __init__(self, path: str, kind: str) -> None:
        names = path.split(".")
        self.path = path
        self.parents = tuple(names[:-1])
        self.last = names[-1]
        self.is_dict = kind == "dict"

    def parent(self, obj: Any) -> Any:
        """The object holding the collection (None when absent: ``oversight`` of an enterprise)."""
        node = obj
        for name in self.parents:
            node = node.get(name) if isinstance(node, dict) else getattr(node, name, None)
            if node is None:
                return None
        return node


_PATHS: dict[str, tuple[tuple[_Path, ...], dict[str, Any]]] = {}
"""Key prefix -> (its split collections, the ``exclude`` that leaves them out of a model dump)."""


def _paths_for(key: str) -> tuple[tuple[_Path, ...], dict[str, Any]]:
    prefix = next((p for p in SPLIT if key.startswith(p)), None)
    if prefix is None:
        return (), {}
    compiled = _PATHS.get(prefix)
    if compiled is None:
        fields = SPLIT[prefix]
        exclude: dict[str, Any] = {}
        for path in fields:
            names = path.split(".")
            node = exclude
            for name in names[:-1]:
                node = node.setdefault(name, {})
            node[names[-1]] = True
        compiled = _PATHS[prefix] = (tuple(_Path(p, kind) for p, kind in fields.items()), exclude)
    return compiled


class Tracker:
    """Watches one live document (a pydantic state or a plain dict) between ``start`` and
    ``changes``: which parts a batch of folds changed.

    ``fresh``: the document was not in the store when loaded and has not been written from
    here since (its owner clears it after a write).

    ``stored_head``: the head as its owner last wrote it from here (None: not known, e.g. just
    loaded); its owner may leave out a head equal to it (a due-date day's or a department's
    supervision head, which the folds never change: only their split rows move)."""

    def __init__(self, key: str, obj: Any, *, fresh: bool = False) -> None:
        self.key = key
        self.obj = obj
        self.fields = fields_for(key)
        self._paths, self._exclude = _paths_for(key)
        self.lengths: dict[str, int] = {}
        self.fresh = fresh
        self.stored_head: Any = None
        self.start()

    def start(self) -> None:
        """Install tracking containers and remember list lengths (call after every save)."""
        obj = self.obj
        for p in self._paths:
            parent = p.parent(obj) if p.parents else obj
            if parent is None:
                continue  # ``oversight.reviews`` of a state without oversight
            value = parent.get(p.last) if isinstance(parent, dict) else getattr(parent, p.last, None)
            if p.is_dict:
                if type(value) is TrackingDict:
                    value.touched.clear()
                else:
                    tracking = TrackingDict(value or {})
                    if isinstance(parent, dict):
                        parent[p.last] = tracking
                    elif isinstance(parent, BaseModel):
                        object.__setattr__(parent, p.last, tracking)
                    else:
                        setattr(parent, p.last, tracking)
            else:
                self.lengths[p.path] = len(value or [])

    def head(self) -> Any:
        obj = self.obj
        model = isinstance(obj, BaseModel)
        out = obj.model_dump(mode="json", exclude=self._exclude) if model else copy.copy(obj)
        for p in self._paths:
            node = out
            for name in p.parents:
                child = node.get(name)
                if not isinstance(child, dict):
                    break
                if not model:
                    child = node[name] = dict(child)
                node = child
            else:
                node[p.last] = {} if p.is_dict else []
        return out

    def changes(self) -> dict[str, Any]:
        """``{part: value or None (deleted)}`` since ``start``; the head is always included."""
        out: dict[str, Any] = {HEAD: self.head()}
        obj = self.obj
        for p in self._paths:
            parent = p.parent(obj) if p.parents else obj
            if parent is None:
                continue
            value = parent.get(p.last) if isinstance(parent, dict) else getattr(parent, p.last, None)
            path = p.path
            if p.is_dict:
                if type(value) is not TrackingDict:  # replaced wholesale: rewrite it
                    raise _Replaced(path)
                touched = value.touched
                if touched:
                    get = dict.get
                    for k in touched:
                        item = get(value, k, _ABSENT)
                        out[f"{path}/{k}"] = None if item is _ABSENT else _json(item)
            else:
                items = value if value is not None else []
                before = self.lengths.get(path, 0)
                n = len(items)
                if n < before:
                    raise _Replaced(path)
                if n == before:
                    continue
                for b in range(before // LIST_BLOCK, (n + LIST_BLOCK - 1) // LIST_BLOCK):
                    out[list_part(path, b)] = [_json(v) for v in items[b * LIST_BLOCK:(b + 1) * LIST_BLOCK]]
        return out


_ABSENT = object()


class _Replaced(Exception):
    """A tracked collection was replaced or shrunk: the document is written whole."""


def all_parts(tracker: Tracker) -> dict[str, Any]:
    """Every part of the tracked document (to write it whole)."""
    return split(tracker.key, _json(tracker.obj))


def changed_parts(tracker: Tracker) -> tuple[dict[str, Any], bool]:
    """(parts to write, whole): ``whole`` means delete every stored part first."""
    try:
        return tracker.changes(), False
    except _Replaced:
        return all_parts(tracker), True


