"""CVAT's JSON Logic ``filter`` query parameter, compiled to a SQL condition.

CVAT accepts a small subset of JSON Logic (``cvat/apps/engine/filters.py``: ``JsonLogicFilter``):
``and``, ``or``, ``!``, ``!!``, ``var``, ``==``, ``<``, ``<=``, ``>``, ``>=`` with two
arguments, ``<=`` with three (an inclusive range), and ``in`` in both forms:
``{"in": [{"var": f}, [a, b]]}`` (f is one of the values) and ``{"in": ["ab", {"var": f}]}``
(f contains "ab"). Everything else is refused with CVAT's 400 messages, which DRF renders as
a JSON list of strings. Where CVAT itself would crash with a 500 on a malformed tree, this
module refuses with a 400 naming the operation instead.

Values are converted the way Django prepares them for the field's type before they reach SQL,
and negation keeps rows whose field is NULL, as Django's ``~Q(...)`` does.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, cast, false, not_, or_, true
from sqlalchemy.sql.elements import ColumnElement

from mockcvat.errors import ValidationFailed
from mockcvat.schemas.fields import SURROGATES

COMPARISONS = ("==", "<", "<=", ">", ">=")


@dataclass(frozen=True)
class FilterField:
    """A field the filter may name, bound to the SQL expression it reads."""

    name: str
    # a SQLAlchemy column or scalar subquery; a ``compat.ByVersion`` of them when the values
    # CVAT shows changed between releases
    source: Any
    type: str = "str"  # str | int | float | bool | datetime
    nullable: bool = False
    since: str | None = None  # the CVAT versions whose list endpoint has it
    until: str | None = None

    @property
    def expr(self) -> Any:
        from mockcvat import compat

        return compat.resolve(self.source)


class Unsupported(Exception):
    """A tree CVAT does not accept (its message goes into the 400 body)."""


def parse(text: str) -> Any:
    """Parse the ``filter`` parameter as CVAT does (``JsonLogicFilter._parse_query``)."""
    try:
        rules = json.loads(text)
    except ValueError:
        raise ValidationFailed("filter: Json syntax should be used") from None
    except RecursionError:  # deeper than Python's parser follows (CVAT: a 500)
        raise ValidationFailed(TOO_DEEP) from None
    if isinstance(rules, list | dict | str) and not len(rules):
        raise ValidationFailed("filter shouldn't be empty")
    if _depth(rules) > MAX_DEPTH:
        raise ValidationFailed(TOO_DEEP)
    return rules


# CVAT has no limit of its own; a deeper tree exhausts its recursion (a 500). No real filter
# comes near this.
MAX_DEPTH = 100
TOO_DEEP = f"filter: the JSON Logic tree is nested more than {MAX_DEPTH} levels deep"


def _depth(rules: Any) -> int:
    """Nesting depth of a parsed tree, without recursion (the tree may be deep)."""
    deepest, stack = 0, [(rules, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        children = node.values() if isinstance(node, Mapping) else (
            node if isinstance(node, list) else ())
        stack.extend((child, depth + 1) for child in children)
    return deepest


def compile_filter(rules: Any, fields: Mapping[str, FilterField]) -> ColumnElement[bool]:
    """Compile parsed rules to a SQL condition over ``fields``; raise CVAT's 400s."""
    try:
        return _Compiler(fields).build(rules)
    except KeyError as exc:
        raise ValidationFailed(f"filter: {exc} term is not supported") from None
    except Unsupported as exc:
        raise ValidationFailed(str(exc)) from None


def _not_implemented(op: Any, args: Any) -> Unsupported:
    return Unsupported(f"filter: {op} operation with {args!r} arguments is not implemented")


class _Compiler:
    def __init__(self, fields: Mapping[str, FilterField]) -> None:
        self.fields = fields

    def build(self, rules: Any) -> ColumnElement[bool]:
        if not isinstance(rules, Mapping) or not rules:
            raise Unsupported(f"filter: {rules!r} is not a JSON Logic rule")
        op, args = next(iter(rules.items()))
        if op in ("and", "or"):
            if not isinstance(args, list) or not args:
                raise _not_implemented(op, args)
            parts = [self.build(arg) for arg in args]
            return and_(*parts) if op == "and" else or_(*parts)
        if op == "!":
            return not_(self.build(args))
        if op == "!!":
            return self.build(args)
        if op == "var":
            return self.var_present(args)
        if op in COMPARISONS and isinstance(args, list) and len(args) == 2:
            return self.compare(op, args)
        if op == "in" and isinstance(args, list) and len(args) == 2:
            return self.membership(args)
        if op == "<=" and isinstance(args, list) and len(args) == 3:
            field = self.field(args[1])
            low, high = (self.value(field, args[0], op), self.value(field, args[2], op))
            return self.guard(field, and_(field.expr >= low, field.expr <= high))
        raise _not_implemented(op, args)

    # --- pieces -------------------------------------------------------------------
    def field(self, ref: Any) -> FilterField:
        if not isinstance(ref, Mapping):
            raise Unsupported(f"filter: {ref!r} must be a {{\"var\": <field>}} reference")
        name = ref["var"]
        if not isinstance(name, str):
            raise Unsupported(f"filter: {name!r} term is not supported")
        return self.fields[name]

    def var_present(self, name: Any) -> ColumnElement[bool]:
        # {"var": "f"} alone means "f is set" (Django's f__isnull=False)
        if not isinstance(name, str):
            raise _not_implemented("var", name)
        return self.fields[name].expr.is_not(None)

    def compare(self, op: str, args: list[Any]) -> ColumnElement[bool]:
        field = self.field(args[0])
        raw = args[1]
        if raw is None:
            if op != "==":
                raise _not_implemented(op, args)
            return field.expr.is_(None)
        value = self.value(field, raw, op)
        expr = field.expr
        condition = {
            "==": lambda: expr == value,
            "<": lambda: expr < value,
            "<=": lambda: expr <= value,
            ">": lambda: expr > value,
            ">=": lambda: expr >= value,
        }[op]()
        return self.guard(field, condition)

    def membership(self, args: list[Any]) -> ColumnElement[bool]:
        if isinstance(args[0], Mapping):
            field = self.field(args[0])
            if not isinstance(args[1], list | str):
                raise _not_implemented("in", args)
            values = [self.value(field, v, "in") for v in args[1] if v is not None]
            if not values:
                return false()
            return self.guard(field, field.expr.in_(values))
        field = self.field(args[1])
        needle = args[0]
        if isinstance(needle, Mapping | list) or needle is None:
            raise _not_implemented("in", args)
        text = str(needle).lower() if isinstance(needle, bool) else str(needle)
        if SURROGATES.search(text):
            raise Unsupported(f"filter: Surrogate characters are not allowed: {needle!r}")
        column = field.expr if field.type == "str" else cast(field.expr, String)
        if text == "":
            return self.guard(field, true())
        return self.guard(field, column.contains(text, autoescape=True))

    @staticmethod
    def guard(field: FilterField, condition: ColumnElement[bool]) -> ColumnElement[bool]:
        """Make ``NOT condition`` keep NULL rows, like Django's negated lookups do."""
        if field.nullable:
            return and_(condition, field.expr.is_not(None))
        return condition

    @staticmethod
    def value(field: FilterField, raw: Any, op: str) -> Any:
        """Convert a JSON value as Django's ``get_prep_value`` does for the field type."""
        if isinstance(raw, Mapping | list) or raw is None:
            raise Unsupported(f"filter: {raw!r} is not a valid value for {field.name}")
        if isinstance(raw, str) and SURROGATES.search(raw):  # no database can store one
            raise Unsupported(f"filter: Surrogate characters are not allowed: {raw!r}")
        try:
            value = _CONVERTERS[field.type](raw)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(raw)
            return value
        except (TypeError, ValueError, OverflowError):  # OverflowError: int(1e999)
            raise Unsupported(
                f"filter: Field '{field.name}' expected {_EXPECTED[field.type]} but got {raw!r}."
            ) from None


def _to_int(raw: Any) -> int:
    value = int(raw.strip()) if isinstance(raw, str) else int(raw)
    if not -(2**63) <= value < 2**63:  # PostgreSQL's bigint range
        raise ValueError(raw)
    return value


def _to_bool(raw: Any) -> bool:
    if raw in (True, False):
        return bool(raw)
    if isinstance(raw, str) and raw in ("t", "True", "1", "true"):
        return True
    if isinstance(raw, str) and raw in ("f", "False", "0", "false"):
        return False
    raise ValueError(raw)


def _to_datetime(raw: Any) -> dt.datetime:
    if not isinstance(raw, str):
        raise ValueError(raw)
    value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    # Django reads naive values in the server's time zone (UTC in CVAT)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _to_str(raw: Any) -> str:
    return str(raw)


_CONVERTERS = {
    "str": _to_str,
    "int": _to_int,
    "float": float,
    "bool": _to_bool,
    "datetime": _to_datetime,
}
_EXPECTED = {
    "str": "a string",
    "int": "a number",
    "float": "a number",
    "bool": "either True or False",
    "datetime": "a date-time",
}
