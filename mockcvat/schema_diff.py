"""Diff two OpenAPI documents operation by operation (ours against the real CVAT schema).

For each operationId: missing (only in the reference), extra (only in ours), or the list of
differences in path/method, tags, parameters, request body, responses and security. Schemas
are compared after resolving ``$ref``s (component names are compared too) and ignoring prose:
``description``, ``summary``, ``title`` and ``example`` never count as differences.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROSE = {"description", "summary", "title", "example", "examples", "externalDocs"}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def load(path: str | Path) -> dict[str, Any]:
    text = Path(path).read_text()
    if str(path).endswith(".json"):
        return json.loads(text)
    import yaml

    return yaml.safe_load(text)


@dataclass
class OperationDiff:
    operation_id: str
    status: str  # same | different | missing | extra
    where: str = ""
    differences: list[str] = field(default_factory=list)


def operations(doc: Mapping[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    found = {}
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method in METHODS:
                found[op["operationId"]] = (path, method, op)
    return found


def diff(ours: Mapping[str, Any], reference: Mapping[str, Any]) -> list[OperationDiff]:
    mine, theirs = operations(ours), operations(reference)
    results = []
    for op_id in sorted(set(mine) | set(theirs)):
        if op_id not in mine:
            path, method, _ = theirs[op_id]
            results.append(OperationDiff(op_id, "missing", f"{method.upper()} {path}"))
            continue
        if op_id not in theirs:
            path, method, _ = mine[op_id]
            results.append(OperationDiff(op_id, "extra", f"{method.upper()} {path}"))
            continue
        differences = _Comparer(ours, reference).operation(mine[op_id], theirs[op_id])
        path, method, _ = theirs[op_id]
        results.append(
            OperationDiff(op_id, "different" if differences else "same",
                          f"{method.upper()} {path}", differences)
        )
    return results


class _Comparer:
    def __init__(self, ours: Mapping[str, Any], reference: Mapping[str, Any]) -> None:
        self.docs = (ours, reference)

    def operation(self, mine: tuple[str, str, dict[str, Any]],
                  theirs: tuple[str, str, dict[str, Any]]) -> list[str]:
        (p1, m1, a), (p2, m2, b) = mine, theirs
        out: list[str] = []
        if (p1, m1) != (p2, m2):
            out.append(f"endpoint: ours {m1.upper()} {p1}, CVAT {m2.upper()} {p2}")
        if a.get("tags") != b.get("tags"):
            out.append(f"tags: ours {a.get('tags')}, CVAT {b.get('tags')}")
        out += self.parameters(a.get("parameters", []), b.get("parameters", []))
        out += self.request_body(a.get("requestBody"), b.get("requestBody"))
        out += self.responses(a.get("responses", {}), b.get("responses", {}))
        if _security(a) != _security(b):
            out.append(f"security: ours {_security(a)}, CVAT {_security(b)}")
        return out

    def parameters(self, a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[str]:
        def both(label: str, pa: dict[str, Any], pb: dict[str, Any]) -> list[str]:
            out = []
            if bool(pa.get("required")) != bool(pb.get("required")):
                out.append(f"{label}: required ours {pa.get('required')}, "
                           f"CVAT {pb.get('required')}")
            return out + self.schema(pa.get("schema"), pb.get("schema"), f"{label} schema")

        return _paired({(p["in"], p["name"]): p for p in a},
                       {(p["in"], p["name"]): p for p in b},
                       lambda key: f"parameter {key[1]} ({key[0]})", both)

    def request_body(self, a: dict[str, Any] | None, b: dict[str, Any] | None) -> list[str]:
        if a is None and b is None:
            return []
        if a is None or b is None:
            return [f"requestBody: {'missing' if a is None else 'extra'}"]
        out = []
        if bool(a.get("required")) != bool(b.get("required")):
            out.append(f"requestBody: required ours {a.get('required')}, CVAT {b.get('required')}")
        out += self.content(a.get("content", {}), b.get("content", {}), "requestBody")
        return out

    def responses(self, a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
        return _paired(a, b, lambda code: f"response {code}", lambda label, x, y: self.content(
            x.get("content", {}), y.get("content", {}), label))

    def content(self, a: Mapping[str, Any], b: Mapping[str, Any], label: str) -> list[str]:
        return _paired(a, b, lambda media: f"{label} {media}", lambda where, x, y: self.schema(
            x.get("schema"), y.get("schema"), where))

    # --- schemas ---------------------------------------------------------------------
    def schema(self, a: Any, b: Any, label: str, seen: frozenset[tuple[str, str]] = frozenset()
               ) -> list[str]:
        ref_a, ref_b = _ref(a), _ref(b)
        if ref_a or ref_b:
            out = []
            if ref_a and ref_b and ref_a != ref_b:
                out.append(f"{label}: component ours {ref_a}, CVAT {ref_b}")
            if (ref_a, ref_b) in seen:
                return out
            seen = seen | {(ref_a or "", ref_b or "")}
            return out + self.schema(self.resolve(a, 0), self.resolve(b, 1), label, seen)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out = []
            for key in sorted(set(a) | set(b), key=str):
                if key in PROSE:
                    continue
                sub = f"{label}.{key}"
                if key not in a:
                    out.append(f"{sub}: missing (CVAT: {_short(b[key])})")
                elif key not in b:
                    out.append(f"{sub}: extra (ours: {_short(a[key])})")
                elif key == "required" and isinstance(a[key], list):
                    if sorted(a[key]) != sorted(b[key]):
                        out.append(f"{sub}: ours {sorted(a[key])}, CVAT {sorted(b[key])}")
                else:
                    out += self.schema(a[key], b[key], sub, seen)
            return out
        if isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                return [f"{label}: ours {_short(a)}, CVAT {_short(b)}"]
            out = []
            for index, (x, y) in enumerate(zip(a, b, strict=True)):
                out += self.schema(x, y, f"{label}[{index}]", seen)
            return out
        if a != b:
            return [f"{label}: ours {_short(a)}, CVAT {_short(b)}"]
        return []

    def resolve(self, node: Any, side: int) -> Any:
        ref = _ref(node)
        if not ref:
            return node
        target: Any = self.docs[side]
        for part in ref.lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        return target


def _paired(mine: Mapping[Any, Any], theirs: Mapping[Any, Any], label: Any, both: Any
            ) -> list[str]:
    """Missing/extra for keys on one side only; ``both(label, ours, CVAT's)`` for the rest."""
    out = []
    for key in sorted(set(mine) | set(theirs)):
        where = label(key)
        if key not in mine:
            out.append(f"{where}: missing")
        elif key not in theirs:
            out.append(f"{where}: extra")
        else:
            out += both(where, mine[key], theirs[key])
    return out


def _ref(node: Any) -> str | None:
    if isinstance(node, Mapping) and "$ref" in node:
        return str(node["$ref"])
    return None


def _security(op: Mapping[str, Any]) -> list[list[str]]:
    return sorted(sorted(item) for item in op.get("security", []))


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def report(results: Iterable[OperationDiff], *, verbose: bool = True) -> str:
    results = list(results)
    lines = []
    for status in ("different", "extra", "missing", "same"):
        group = [r for r in results if r.status == status]
        if not group:
            continue
        lines.append(f"## {status} ({len(group)})")
        for r in group:
            lines.append(f"- {r.operation_id}  [{r.where}]")
            if verbose:
                lines += [f"    {d}" for d in r.differences]
        lines.append("")
    counts = {s: sum(r.status == s for r in results) for s in ("same", "different", "extra",
                                                                "missing")}
    lines.append("summary: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return "\n".join(lines)


def coverage(results: Iterable[OperationDiff], version: str) -> str:
    """COVERAGE.md: CVAT's operations by tag, checked when mockcvat serves them identically."""
    results = [r for r in results if r.status != "extra"]
    by_tag: dict[str, list[OperationDiff]] = {}
    for r in results:
        by_tag.setdefault(r.operation_id.split("_", 1)[0], []).append(r)
    done = sum(r.status == "same" for r in results)
    lines = [
        "# Coverage of the CVAT API",
        "",
        f"Generated by `mockcvat schema coverage` from the real CVAT {version} schema: an",
        "operation is checked when mockcvat serves it and its schema shows no difference.",
        "Do not edit by hand; run `make schema`.",
        "",
        f"**{done} of {len(results)} operations ({100 * done // max(1, len(results))}%)**",
        "",
    ]
    for tag in sorted(by_tag):
        group = by_tag[tag]
        tag_done = sum(r.status == "same" for r in group)
        lines.append(f"## {tag} ({tag_done}/{len(group)})")
        for r in sorted(group, key=lambda r: r.operation_id):
            mark = {"same": "X", "different": "~"}.get(r.status, " ")
            lines.append(f"- [{mark}] `{r.operation_id}` {r.where}")
        lines.append("")
    return "\n".join(lines)
