"""AI functions (CVAT's serverless "lambda" functions) registered by test authors.

A real CVAT asks Nuclio for its functions and invokes them over HTTP. A mock has no Nuclio:
the test author registers a function instead, with the spec Nuclio would report and either

* ``handler``: a Python callable ``handler(image, request) -> result`` that gets the decoded
  frame (a ``PIL.Image``) and the call's parameters (``frame``, ``threshold``, and for
  interactors/trackers/reid what the caller sent), and returns what the Nuclio function
  would: for a detector a list of detections ``{"label", "type", "points", "attributes":
  [{"name", "value"}], "elements": [...], "mask", "group_id", "rotation"}``; or
* ``detections``: canned detections per frame (``{frame: [...]}``, ``"*"`` for any frame),
  the declarative form the control plane takes; or
* ``error``: a message the function fails with, as a broken Nuclio function does.

With no functions registered, ``/api/lambda/functions`` answers as a CVAT whose Nuclio is not
reachable (503, the connection error as a JSON string).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("detector", "interactor", "tracker", "reid")
NUCLIO = "http://nuclio:8070"
# CVAT relays the gateway's connection error (``requests.ConnectionError``) as a 503
NO_NUCLIO = ("HTTPConnectionPool(host='nuclio', port=8070): Max retries exceeded with url: "
             "/api/functions (Caused by NewConnectionError('<urllib3.connection.HTTPConnection "
             "object at 0x7f0000000000>: Failed to establish a new connection: [Errno 111] "
             "Connection refused'))")


class FunctionFailed(Exception):
    """The function failed (its handler raised, or it was registered with ``error``)."""


@dataclass
class Function:
    id: str
    kind: str = "detector"
    name: str | None = None
    labels: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""
    version: int = 1
    help_message: str = ""
    min_pos_points: int = 1
    min_neg_points: int = -1
    startswith_box: bool = False
    startswith_box_optional: bool = False
    animated_gif: str = ""
    handler: Callable[[Any, dict[str, Any]], Any] | None = None
    detections: Mapping[Any, list[dict[str, Any]]] | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if not self.id or not all(c.isalnum() or c in "_.-" for c in self.id):
            raise ValueError(f"a function id is made of [a-zA-Z0-9_.-], not {self.id!r}")
        names = [label["name"] for label in self.labels]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.id} lambda function has non-unique labels")
        self.labels = [_label(label) for label in self.labels]

    def to_dict(self) -> dict[str, Any]:
        """What ``GET /api/lambda/functions`` shows (CVAT's ``LambdaFunction.to_dict``)."""
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "labels_v2": self.labels,
                               "description": self.description, "name": self.name or self.id,
                               "version": self.version}
        if self.kind == "interactor":
            out.update({"min_pos_points": self.min_pos_points,
                        "min_neg_points": self.min_neg_points,
                        "startswith_box": self.startswith_box,
                        "startswith_box_optional": self.startswith_box_optional,
                        "help_message": self.help_message, "animated_gif": self.animated_gif})
        return out

    def call(self, image: Any, request: dict[str, Any]) -> Any:
        if self.error is not None:
            raise FunctionFailed(self.error)
        if self.handler is not None:
            try:
                return self.handler(image, request)
            except Exception as exc:
                raise FunctionFailed(f"{type(exc).__name__}: {exc}") from exc
        canned = self.detections or {}
        frame = request.get("frame")
        found = canned.get(frame, canned.get(str(frame), canned.get("*", [])))
        return [dict(d) for d in found]


def _label(spec: Mapping[str, Any]) -> dict[str, Any]:
    """CVAT's ``parse_labels``: name, type (default ``unknown``), attributes, sublabels."""
    label = {"name": spec["name"], "type": spec.get("type", "unknown"),
             "attributes": [{"name": a["name"], "input_type": a.get("input_type", "text"),
                             "values": list(a.get("values", []))}
                            for a in spec.get("attributes", [])]}
    if label["type"] == "skeleton":
        label["sublabels"] = [_label(s) for s in spec.get("sublabels", [])]
        label["svg"] = spec.get("svg", "")
    return label


class Registry:
    """The functions of one server (``MockCVAT.functions``); cleared by ``reset()``."""

    def __init__(self) -> None:
        self._functions: dict[str, Function] = {}
        self._lock = threading.Lock()

    def register(self, function: Function) -> Function:
        with self._lock:
            self._functions[function.id] = function
        return function

    def unregister(self, function_id: str) -> None:
        with self._lock:
            self._functions.pop(function_id, None)

    def get(self, function_id: str) -> Function | None:
        with self._lock:
            return self._functions.get(function_id)

    def all(self) -> list[Function]:
        with self._lock:
            return list(self._functions.values())

    def clear(self) -> None:
        with self._lock:
            self._functions.clear()

    def __bool__(self) -> bool:
        return bool(self._functions)


def not_found(function_id: str) -> str:
    """Nuclio's 404, as CVAT relays ``requests.HTTPError``."""
    return f"404 Client Error: Not Found for url: {NUCLIO}/api/functions/{function_id}"


def failed(function_id: str, message: str) -> str:
    """A function that fails: Nuclio answers 500, which CVAT relays."""
    del function_id
    return (f"500 Server Error: Internal Server Error for url: {NUCLIO}/api/function_invocations"
            f" ({message})")
