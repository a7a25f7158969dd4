"""Building pydantic models from values already validated (the ledger's own: envelopes it
seals, receipts, checkpoints), cheaper than ``BaseModel.model_construct``, which resolves
aliases and defaults field by field on every call: a few of these are built per event on the
write path.

:func:`trusted` takes every field, by name, and sets the instance exactly as
``model_construct`` with the same values would (``__dict__`` in field order, every field
marked set, no extra, no private attributes). It accepts only plain models (no aliases, no
``extra="allow"``, no post-init, not a root model), checked once per class.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_FIELDS: dict[type[BaseModel], tuple[str, ...]] = {}
_set = object.__setattr__


def _fields(cls: type[BaseModel]) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        fields = cls.model_fields
        plain = (
            not cls.__pydantic_root_model__
            and cls.__pydantic_post_init__ is None
            and cls.model_config.get("extra") != "allow"
            and all(f.alias is None and f.validation_alias is None for f in fields.values())
        )
        if not plain:
            raise TypeError(f"{cls.__name__}: not a plain model; use model_construct")
        names = _FIELDS[cls] = tuple(fields)
    return names


def trusted(cls: type[M], **values: Any) -> M:
    """``cls.model_construct(**values)`` for a plain model given every one of its fields."""
    names = _fields(cls)
    if len(values) != len(names):
        missing = set(names) ^ set(values)
        raise TypeError(f"{cls.__name__}: every field is needed, not {sorted(missing)}")
    m = cls.__new__(cls)
    _set(m, "__dict__", {name: values[name] for name in names})
    _set(m, "__pydantic_fields_set__", set(names))
    _set(m, "__pydantic_extra__", None)
    _set(m, "__pydantic_private__", None)
    return m
