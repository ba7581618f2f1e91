"""The one list engine: pagination, sorting, search, simple filters and JSON Logic, in SQL.

Behaviour follows CVAT's stack for list views (``cvat/apps/engine/filters.py``,
``cvat/apps/engine/pagination.py`` and DRF's ``PageNumberPagination``/``SearchFilter``/
``OrderingFilter``):

* ``page_size``: a positive integer, or ``all``; anything else means the default (10);
  there is no upper bound.
* ``page``: 1-based, or ``last``; anything invalid or out of range is 404 ``Invalid page.``
  (page 1 of an empty list is valid).
* ``sort``: comma-separated fields, ``-`` for descending; unknown fields are ignored, and
  with none left the endpoint's default ordering applies.
* ``search``: terms split on whitespace and commas; every term must occur, case-insensitively,
  in at least one search field.
* simple filters: ``?field=value`` equality for the declared fields; empty values are ignored.
* ``filter``: JSON Logic (see ``mockcvat.jsonlogic``).

Each endpoint declares a ``Listing`` once; it drives both the SQL and the OpenAPI parameters.
A field with ``since``/``until`` (``FilterField``) exists only in those CVAT versions, for
filters, search and sorting alike; a simple filter's choices may be a ``compat.ByVersion``
(``None``: no enum).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.engine import Connection

from mockcvat import compat, jsonlogic
from mockcvat.db import GenerationCache
from mockcvat.errors import NotFound, ValidationFailed
from mockcvat.jsonlogic import FilterField

DEFAULT_PAGE_SIZE = 10
_TRUE = {"true", "1", "True"}
_FALSE = {"false", "0", "False"}


class VersionedChoices(Sequence[str]):
    """Choices of a simple filter that depend on the emulated CVAT version (read when used)."""

    def __init__(self, values: Callable[[], Sequence[str]]) -> None:
        self.values = values

    def __getitem__(self, index: Any) -> Any:
        return self.values()[index]

    def __len__(self) -> int:
        return len(self.values())


@dataclass(frozen=True)
class Listing:
    """What one list endpoint may filter, search and sort by (CVAT's view attributes)."""

    fields: Mapping[str, FilterField]  # every name below, bound to its SQL expression
    filter_fields: Sequence[str]
    search_fields: Sequence[str] = ()
    ordering_fields: Sequence[str] = ()
    simple_filters: Sequence[str] = ()
    default_ordering: Sequence[str] = ("-id",)
    simple_filter_choices: Mapping[str, Sequence[str] | compat.ByVersion[Any]] = field(
        default_factory=dict)
    org_scoped: bool = True  # takes X-Organization / org / org_id
    # a simple filter younger than its field (the field filters and sorts since earlier)
    simple_filter_since: Mapping[str, str] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        """Whether the emulated CVAT version lists by this field."""
        spec = self.fields.get(name)
        return spec is None or compat.current().has(spec.since, spec.until)

    def has_simple_filter(self, name: str) -> bool:
        return self.has(name) and compat.current().has(self.simple_filter_since.get(name))

    def choices(self, name: str) -> Sequence[str] | None:
        return compat.resolve(self.simple_filter_choices.get(name))

    # --- OpenAPI ---------------------------------------------------------------------
    def parameters(self) -> list[dict[str, Any]]:
        """The query parameters CVAT's schema lists for this endpoint (those of some CVAT
        versions only carry ``since``/``until``, see ``api.versioned``)."""
        from mockcvat.api import versioned

        params: list[dict[str, Any]] = []
        if self.org_scoped:
            params += ORG_PARAMETERS
        for since, until, names in self._periods(self.filter_fields):
            params.append(versioned(_query(
                "filter", "JSON Logic filter (https://jsonlogic.com/) over the fields "
                f'{names}; e.g. {{"and":[{{"==":[{{"var":"id"}},1]}}]}}.'),
                since=since, until=until))
        for name in self.simple_filters:
            spec = self.fields[name]
            schema: dict[str, Any] = {"type": _SIMPLE_TYPES[spec.type]}
            if name in self.simple_filter_choices:
                choices = self.simple_filter_choices[name]
                if isinstance(choices, compat.ByVersion):
                    choices = VersionedChoices(lambda c=choices: c.current() or ())
                # versioned choices stay lazy: the schema builder reads them per version
                schema["enum"] = choices if isinstance(choices, VersionedChoices) else list(
                    choices)
            param = {"name": name, "in": "query", "description": f"Equality filter on {name}",
                     "schema": schema}
            params.append(versioned(param, since=self.simple_filter_since.get(name) or spec.since,
                                    until=spec.until))
        params.append(_query("page", "1-based page number, or 'last'", "integer"))
        params.append(_query("page_size", "Results per page, or 'all'", "integer"))
        for since, until, names in self._periods(self.search_fields):
            params.append(versioned(_query("search", f"Search terms over the fields "
                                                     f"{tuple(names)}"),
                                    since=since, until=until))
        for since, until, names in self._periods(self.ordering_fields):
            params.append(versioned(_query(
                "sort", f"Comma-separated fields to sort by, '-' for descending; one of {names}"),
                since=since, until=until))
        return sorted(params, key=lambda p: p["name"])

    def _periods(self, names: Sequence[str]) -> list[tuple[str | None, str | None, list[str]]]:
        """``(since, until, names present)`` for each period between the versions that add or
        remove one of ``names`` (none if ``names`` is empty)."""
        bounds = {v for name in names for v in (self.fields[name].since,
                                                self.fields[name].until) if v}
        edges = [None, *sorted(bounds, key=compat.parse_version), None]
        out = []
        for since, until in zip(edges, edges[1:], strict=False):
            probe = compat.Compat(since or "0.0.0")
            present = [n for n in names if probe.has(self.fields[n].since, self.fields[n].until)]
            if present:
                out.append((since, until, present))
        return out

    # --- SQL ---------------------------------------------------------------------------
    def apply_filters(self, query: Select[Any], params: Mapping[str, str]) -> Select[Any]:
        for name in self.simple_filters:
            raw = params.get(name)
            if raw in (None, "") or not self.has_simple_filter(name):
                continue
            condition = self._simple_condition(name, raw)
            if condition is not None:
                query = query.where(condition)
        raw_filter = params.get("filter")
        if raw_filter:
            rules = jsonlogic.parse(raw_filter)
            allowed = {name: self.fields[name] for name in self.filter_fields if self.has(name)}
            query = query.where(jsonlogic.compile_filter(rules, allowed))
        terms = search_terms(params.get("search", ""))
        searched = [name for name in self.search_fields if self.has(name)]
        if terms and searched:
            columns = [self.fields[name].expr for name in searched]
            for term in terms:
                query = query.where(or_(*(c.icontains(term, autoescape=True) for c in columns)))
        return query

    def _simple_condition(self, name: str, raw: str) -> Any:
        spec = self.fields[name]
        if spec.type == "bool":
            # django-filter's NullBooleanField: unrecognised values mean "no filter"
            if raw in _TRUE:
                return spec.expr.is_(True)
            if raw in _FALSE:
                return spec.expr.is_(False)
            return None
        if spec.type == "int":
            try:
                value = int(raw.strip())
            except ValueError:
                raise ValidationFailed({name: ["Enter a number."]}) from None
            return spec.expr == value if -(2**63) <= value < 2**63 else false()
        choices = self.choices(name)
        if choices is not None and raw not in choices:
            raise ValidationFailed(
                {name: [f"Select a valid choice. {raw} is not one of the available choices."]}
            )
        return spec.expr == raw

    def ordering(self, params: Mapping[str, str]) -> list[Any]:
        terms = []
        for term in (params.get("sort") or "").split(","):
            term = term.strip()
            if term.lstrip("-") in self.ordering_fields and self.has(term.lstrip("-")):
                terms.append(term)
        clauses = []
        for term in terms or list(self.default_ordering):
            expr = self.fields[term.lstrip("-")].expr
            # PostgreSQL puts NULLs last ascending and first descending; SQLite does not
            clauses.append(
                expr.desc().nulls_first() if term.startswith("-") else expr.asc().nulls_last()
            )
        return clauses


ORG_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "X-Organization",
        "in": "header",
        "description": "Organization unique slug",
        "schema": {"type": "string"},
    },
    {
        "name": "org",
        "in": "query",
        "description": "Organization unique slug",
        "schema": {"type": "string"},
    },
    {
        "name": "org_id",
        "in": "query",
        "description": "Organization identifier",
        "schema": {"type": "integer"},
    },
]

_SIMPLE_TYPES = {"str": "string", "int": "integer", "bool": "boolean", "float": "number",
                 "datetime": "string"}


def _query(name: str, description: str, type_: str = "string") -> dict[str, Any]:
    return {
        "name": name,
        "required": False,
        "in": "query",
        "description": description,
        "schema": {"type": type_},
    }


_SMART_SPLIT = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[^\s,]+')


def search_terms(value: str) -> list[str]:
    """DRF's search term splitting: whitespace and commas separate, quotes group."""
    if "\x00" in value:
        raise ValidationFailed({"search": ["Null characters are not allowed."]})
    terms = []
    for token in _SMART_SPLIT.findall(value):
        if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
            token = token[1:-1]
        if token:
            terms.append(token)
    return terms


# --- pagination ------------------------------------------------------------------------
@dataclass
class Page:
    count: int
    rows: list[Any]
    next: str | None
    previous: str | None

    def body(self, results: list[Any]) -> dict[str, Any]:
        return {"count": self.count, "next": self.next, "previous": self.previous,
                "results": results}


def page_size_of(params: Mapping[str, str]) -> int | None:
    """CVAT's ``CustomPagination.get_page_size``; ``None`` means "all"."""
    raw = params.get("page_size")
    if raw == "all":
        return None
    try:
        size = int(raw) if raw is not None else 0
    except ValueError:
        size = 0
    # no upper bound in CVAT; clamp only to what SQL LIMIT can carry
    return min(size, sys.maxsize) if size > 0 else DEFAULT_PAGE_SIZE


def paginate(
    connection: Connection,
    query: Select[Any] | Callable[[], Select[Any]],
    listing: Listing,
    params: Mapping[str, str],
    url: str,
    *,
    pk: Any = None,
    cache: GenerationCache | None = None,
    cache_key: Hashable | None = None,
) -> Page:
    """Filter, count, sort and cut one page of ``query`` as CVAT's list views do.

    ``query`` may be a function building it, called only when needed. With a ``cache_key``
    naming ``query`` (same key, same SQL), the built statements are
    reused, and the count is reused until the database next changes: a list request then
    costs one indexed page query.
    """
    filtered, ordering = _statements(query, listing, params, pk, cache_key)
    count_key = None if cache is None or cache_key is None else (
        "count", id(listing), compat.current().version, cache_key,
        _filter_params(listing, params))
    count = cache.get(count_key) if count_key is not None else None
    if count is None:
        count = connection.execute(
            select(func.count()).select_from(filtered.subquery())
        ).scalar_one()
        if count_key is not None:
            cache.put(count_key, count)
    size = page_size_of(params)
    pages = 1 if size is None else max(1, -(-count // size))
    number = _page_number(params.get("page"), pages)
    rows = list(connection.execute(_page(ordering, size, number)).all())
    return Page(
        count=count,
        rows=rows,
        next=_with_page(url, number + 1) if number < pages else None,
        previous=None if number == 1 else _with_page(url, number - 1),
    )


_STATEMENTS: dict[Hashable, tuple[Select[Any], Select[Any]]] = {}


def _statements(
    query: Select[Any] | Callable[[], Select[Any]],
    listing: Listing,
    params: Mapping[str, str],
    pk: Any,
    cache_key: Hashable | None,
) -> tuple[Select[Any], Select[Any]]:
    """The filtered query and its ordered form; built once per distinct request shape."""
    key = None if cache_key is None else (
        id(listing), compat.current().version, cache_key, _filter_params(listing, params),
        params.get("sort"))
    if key is not None and key in _STATEMENTS:
        return _STATEMENTS[key]
    filtered = listing.apply_filters(query() if callable(query) else query, params)
    ordered = filtered.order_by(*listing.ordering(params))
    if pk is not None:
        ordered = ordered.order_by(pk)  # deterministic ties
    if key is not None:
        if len(_STATEMENTS) >= 1024:
            _STATEMENTS.clear()
        _STATEMENTS[key] = (filtered, ordered)
    return filtered, ordered


def _page(ordered: Select[Any], size: int | None, number: int) -> Select[Any]:
    if size is None:
        return ordered
    key = (id(ordered), size, number)
    page = _PAGES.get(key)
    if page is None or page[0] is not ordered:
        if len(_PAGES) >= 1024:
            _PAGES.clear()
        page = _PAGES[key] = (ordered, ordered.limit(size).offset((number - 1) * size))
    return page[1]


_PAGES: dict[tuple[int, int, int], tuple[Select[Any], Select[Any]]] = {}


def _filter_params(listing: Listing, params: Mapping[str, str]) -> tuple[Any, ...]:
    return (params.get("filter"), params.get("search"),
            *(params.get(name) for name in listing.simple_filters))


def _page_number(raw: str | None, pages: int) -> int:
    if not raw:
        return 1
    if raw == "last":
        return pages
    try:
        number = int(raw)
    except ValueError:
        number = 0
    if number < 1 or number > pages:
        raise NotFound("Invalid page.")
    return number


def _with_page(url: str, number: int) -> str:
    """DRF's replace_query_param/remove_query_param: sorted query, page 1 drops ``page``."""
    scheme, netloc, path, query, fragment = urlsplit(url)
    items: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        items.setdefault(key, []).append(value)
    if number == 1:
        items.pop("page", None)
    else:
        items["page"] = [str(number)]
    query = urlencode(sorted(items.items()), doseq=True)
    return urlunsplit((scheme, netloc, path, query, fragment))
