"""Building pydantic models from values already validated (the ledger's own: envelopes it
seals, receipts, checkpoints), cheaper than ``BaseModel.model_construct``, which resolves
aliases and defaults field by field on every call: a few of these are built per event on the
write path.

:func:`trusted` takes every field, by name, and sets the instance exactly as
``model_construct`` with the same values would (``__dict__`` in field order, every field
marked set, no extra, no private attributes). It accepts only plain models (no aliases, no
``extra="allow"``, no post-init, not a root model), checked once per class.

The fold makes its records (issue 11, session 10) from values already of their fields' types
(an event's validated fields, the ledger's dates and instants, strings it composed), so
validating them again only costs time: a ``CreditRecord(...)`` was ~8 µs of a decision's fold.
:func:`made` builds an instance the way validation would leave it for such values: ``__dict__``
in field order with every field not given set from its default (a default factory is called,
as validation does), ``__pydantic_fields_set__`` the names given, no extra, private attributes
at their defaults. Lists given are stored as they are (callers pass a list of their own, as
validation would have copied it). It accepts only plain models (no aliases, no extra, no validators on the model or a field, no post-init but pydantic's own, no
``validate_assignment``, not frozen), checked once per class; a wrong field name is an error.
``tests/unit/test_fold_snapshot.py`` checks the fold still produces the states (every value
of the same type) and tallies that the validating fold produced.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic._internal._model_construction import init_private_attributes
from pydantic_core import PydanticUndefined

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


class _Plan:
    """Per class: every field in order with its default (a placeholder for a field with a
    default factory or none), the fields with a factory, the required fields, and the private
    attributes' defaults."""

    __slots__ = ("factories", "private", "required", "size", "template")

    def __init__(self, cls: type[BaseModel]) -> None:
        config = cls.model_config
        decorators = cls.__pydantic_decorators__
        plain = (
            not cls.__pydantic_root_model__
            # a post-init only if it is pydantic's own, which sets the private attributes
            and (cls.__pydantic_post_init__ is None or cls.model_post_init is init_private_attributes)
            and config.get("extra") in (None, "ignore")
            and not config.get("validate_assignment")
            and not config.get("frozen")
            and not (decorators.field_validators or decorators.model_validators or decorators.validators
                     or decorators.root_validators)
            and all(
                f.alias is None and f.validation_alias is None and not f.frozen and not f.metadata
                for f in cls.model_fields.values()
            )
        )
        if not plain:
            raise TypeError(f"{cls.__name__}: not a plain model; build it by validation")
        self.template: dict[str, Any] = {}
        self.factories: list[tuple[str, Any]] = []
        required = []
        for name, f in cls.model_fields.items():
            self.template[name] = None if f.default is PydanticUndefined else f.default
            if f.default_factory is not None:
                self.factories.append((name, f.default_factory))
            elif f.default is PydanticUndefined:
                required.append(name)
        self.required = frozenset(required)
        self.size = len(self.template)
        private = cls.__private_attributes__
        self.private: dict[str, Any] | None = (
            {name: p.get_default() for name, p in private.items() if p.default is not PydanticUndefined}
            if private else None
        )


_PLANS: dict[type[BaseModel], _Plan] = {}


def _plan(cls: type[BaseModel]) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _Plan(cls)
    return plan


def made(cls: type[M], /, **values: Any) -> M:
    """``cls(**values)`` for values already of their fields' types, without validating them."""
    plan = _PLANS.get(cls) or _plan(cls)
    fields = plan.template.copy()
    fields.update(values)
    if len(fields) != plan.size or not plan.required <= values.keys():
        unknown = sorted(fields.keys() - plan.template.keys())
        raise TypeError(f"{cls.__name__}: no field {unknown}" if unknown
                        else f"{cls.__name__}: {sorted(plan.required - values.keys())} required")
    for name, factory in plan.factories:
        if name not in values:
            fields[name] = factory()
    m = cls.__new__(cls)
    _set(m, "__dict__", fields)
    _set(m, "__pydantic_fields_set__", set(values))
    _set(m, "__pydantic_extra__", None)
    _set(m, "__pydantic_private__", None if plan.private is None else plan.private.copy())
    return m
