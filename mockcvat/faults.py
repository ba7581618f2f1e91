"""Fault and latency injection at the HTTP level: rules the one middleware applies to CVAT's
operations (never to the ``/_mockcvat/`` control plane).

A rule selects requests by ``operation_id``, ``method`` and ``path`` pattern (as the journal's:
``/api/tasks/{id}``, ``/api/tasks/*``, ``/api/**``), optionally only those of one ``user``; it
fires for the next ``times`` matching calls (None: every one), or for ``percent`` of them drawn
from its own ``random.Random(seed)``. What it does:

* ``status`` (with ``body`` and ``headers``): answer that instead of running the operation
  (e.g. 500; 503 with ``Retry-After``; 429);
* ``delay``: wait that many seconds first (alone: the operation then runs as usual);
* ``reset``: close the connection without an answer (a TCP RST where the server allows it);
* ``truncate``: run the operation, send the headers and half the body, then close.

Rules are checked whole when added: an unknown operation, method or keyword is refused with a
message naming it. ``reset()`` of the server drops every rule.
"""

from __future__ import annotations

import difflib
import random
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mockcvat.journal import path_pattern

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
KEYS = ("operation_id", "method", "path", "user", "status", "body", "headers", "delay",
        "reset", "truncate", "times", "percent", "seed")


class FaultError(ValueError):
    """A rule that cannot work; ``field`` names the offending key."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


def suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclass(eq=False)
class Fault:
    """One rule. A context manager: ``with server.faults.add(...):`` removes it on exit."""

    id: int
    operation_id: str | None = None
    method: str | None = None
    path: str | None = None
    user: str | None = None
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    reset: bool = False
    truncate: bool = False
    times: int | None = None  # firings left (None: unlimited)
    percent: float | None = None
    seed: int | None = None
    hits: int = 0  # times it fired
    _owner: Faults | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._path = path_pattern(self.path) if self.path else None
        self._random = random.Random(self.seed)

    @property
    def kind(self) -> str:
        if self.status is not None:
            return "status"
        if self.reset:
            return "reset"
        if self.truncate:
            return "truncate"
        return "latency"

    def matches(self, operation_id: str | None, method: str, path: str) -> bool:
        return ((self.operation_id is None or operation_id == self.operation_id)
                and (self.method is None or method == self.method)
                and (self._path is None or self._path.fullmatch(path) is not None))

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "operation_id": self.operation_id,
                "method": self.method, "path": self.path, "user": self.user,
                "status": self.status, "body": self.body, "headers": self.headers,
                "delay": self.delay, "reset": self.reset, "truncate": self.truncate,
                "times": self.times, "percent": self.percent, "seed": self.seed,
                "hits": self.hits}

    def remove(self) -> None:
        if self._owner is not None:
            self._owner.remove(self)

    def __enter__(self) -> Fault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class Faults:
    """The rules of one server (``mock.faults``), first added first matched."""

    def __init__(self, operation_ids: Callable[[], Iterable[str]]) -> None:
        self._operation_ids = operation_ids
        self._rules: list[Fault] = []
        self._lock = threading.Lock()
        self._next_id = 1

    def add(self, operation_id: str | None = None, *, method: str | None = None,
            path: str | None = None, user: str | None = None, status: int | None = None,
            body: Any = None, headers: Mapping[str, str] | None = None, delay: float = 0.0,
            reset: bool = False, truncate: bool = False, times: int | None = None,
            percent: float | None = None, seed: int | None = None) -> Fault:
        """Add a rule (see the module docstring); ``FaultError`` if it cannot work."""
        spec = {"operation_id": operation_id, "method": method, "path": path, "user": user,
                "status": status, "body": body, "headers": dict(headers or {}),
                "delay": delay, "reset": reset, "truncate": truncate, "times": times,
                "percent": percent, "seed": seed}
        return self.add_spec(spec)

    def add_spec(self, spec: Mapping[str, Any]) -> Fault:
        """Add a rule from a JSON object (the control plane, the pytest marker)."""
        if not isinstance(spec, Mapping):
            raise FaultError("fault", "expected an object")
        values = self._checked(spec)
        with self._lock:
            rule = Fault(id=self._next_id, _owner=self, **values)
            self._next_id += 1
            self._rules.append(rule)
        return rule

    def _checked(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        unknown = [key for key in spec if key not in KEYS]
        if unknown:
            raise FaultError(unknown[0], f"unknown key{suggest(unknown[0], KEYS)} "
                             f"(known: {', '.join(KEYS)})")
        values = {key: spec[key] for key in KEYS if spec.get(key) is not None}
        operation_id = values.get("operation_id")
        if operation_id is not None:
            known = set(self._operation_ids())
            if not isinstance(operation_id, str) or operation_id not in known:
                raise FaultError("operation_id", f"unknown operation {operation_id!r} in the "
                                 f"emulated CVAT version{suggest(str(operation_id), known)}")
        method = values.get("method")
        if method is not None:
            if not isinstance(method, str) or method.upper() not in METHODS:
                raise FaultError("method", f"{method!r} is not one of {', '.join(METHODS)}")
            values["method"] = method.upper()
        path = values.get("path")
        if path is not None and (not isinstance(path, str) or not path.startswith("/")):
            raise FaultError("path", f"{path!r} is not a path pattern such as /api/tasks/{{id}}")
        if "user" in values and not isinstance(values["user"], str):
            raise FaultError("user", "expected a username")
        status = values.get("status")
        if status is not None and (isinstance(status, bool) or not isinstance(status, int)
                                   or not 100 <= status <= 599):
            raise FaultError("status", f"{status!r} is not an HTTP status (100-599)")
        headers = values.get("headers") or {}
        if not isinstance(headers, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str | int) for k, v in headers.items()):
            raise FaultError("headers", "expected an object of header names to strings")
        values["headers"] = {k: str(v) for k, v in headers.items()}
        delay = values.get("delay", 0.0)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 600:
            raise FaultError("delay", f"{delay!r} is not a number of seconds from 0 to 600")
        values["delay"] = float(delay)
        for flag in ("reset", "truncate"):
            if not isinstance(values.get(flag, False), bool):
                raise FaultError(flag, "expected true or false")
        effects = [name for name, on in (("status", status is not None),
                                         ("reset", values.get("reset", False)),
                                         ("truncate", values.get("truncate", False))) if on]
        if len(effects) > 1:
            raise FaultError(effects[1], f"a rule does one thing: {' and '.join(effects)} "
                             "cannot be combined (add two rules)")
        if not effects and not values["delay"]:
            raise FaultError("status", "the rule does nothing: give status, delay, reset or "
                             "truncate")
        if "body" in values and status is None:
            raise FaultError("body", "a body needs a status")
        times = values.get("times")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int)
                                  or times < 1):
            raise FaultError("times", f"{times!r} is not a number of calls >= 1")
        percent = values.get("percent")
        if percent is not None and (isinstance(percent, bool) or
                                    not isinstance(percent, int | float)
                                    or not 0 < percent <= 100):
            raise FaultError("percent", f"{percent!r} is not a percentage in (0, 100]")
        seed = values.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise FaultError("seed", f"{seed!r} is not an integer")
        return values

    # --- managing -------------------------------------------------------------------------
    def remove(self, rule: Fault | int) -> bool:
        with self._lock:
            for existing in self._rules:
                if existing is rule or existing.id == rule:
                    self._rules.remove(existing)
                    return True
        return False

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.as_dict() for rule in self._rules]

    def __bool__(self) -> bool:
        return bool(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    @property
    def needs_user(self) -> bool:
        return any(rule.user is not None for rule in self._rules)

    @property
    def needs_operation(self) -> bool:
        return any(rule.operation_id is not None for rule in self._rules)

    # --- firing (the middleware) -------------------------------------------------------------
    def pick(self, operation_id: str | None, method: str, path: str,
             user: Callable[[], str | None]) -> Fault | None:
        """The first rule that fires for this request (its ``times`` counted down; a spent
        rule goes), or None. ``user`` is asked only when a matching rule names one."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(operation_id, method, path):
                    continue
                if rule.user is not None and user() != rule.user:
                    continue
                if rule.percent is not None and rule._random.random() * 100 >= rule.percent:
                    continue
                rule.hits += 1
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times == 0:
                        self._rules.remove(rule)
                return rule
        return None
