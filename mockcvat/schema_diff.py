"""Diff two OpenAPI documents operation by operation (ours against the real CVAT schema).

For each operationId: missing (only in the reference), extra (only in ours), or the list of
differences in path/method, tags, parameters, request body, responses and security. Schemas
are compared after resolving ``$ref``s (component names are compared too) and ignoring prose:
``description``, ``summary``, ``title`` and ``example`` never count as differences.
"""

from __future__ import annotations

import json
import re
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


def coverage(results: Iterable[OperationDiff], version: str,
             sdk_results: Iterable[OperationDiff] = (), sdk_version: str | None = None) -> str:
    """COVERAGE.md: CVAT's operations by tag, per reference: the real CVAT ``version`` schema
    and, if given, the cvat-sdk ``sdk_version`` package. ✓: served with no difference,
    ~: served with differences, blank: not served, –: not in that release."""
    columns = [{r.operation_id: r for r in results if r.status != "extra"}]
    titles = [f"CVAT {version} schema"]
    if sdk_version is not None:
        columns.append({r.operation_id: r for r in sdk_results if r.status != "extra"})
        titles.append(f"cvat-sdk {sdk_version}")
    every = sorted(set().union(*columns))
    by_tag: dict[str, list[str]] = {}
    for op_id in every:
        by_tag.setdefault(op_id.split("_", 1)[0], []).append(op_id)
    lines = [
        "# Coverage of the CVAT API",
        "",
        "Generated by `mockcvat schema coverage` from the real CVAT schema and the cvat-sdk",
        "package: an operation is checked when mockcvat serves it (emulating that version) and",
        "the diff shows no difference. ✓ same, ~ served with differences, blank: not",
        "implemented, – not in that release. Do not edit by hand; run `make schema`.",
        "",
    ]
    for title, column in zip(titles, columns, strict=True):
        done = sum(r.status == "same" for r in column.values())
        lines.append(f"- **{title}: {done} of {len(column)} operations "
                     f"({100 * done // max(1, len(column))}%)**")
    lines.append("")
    marks = {"same": "✓", "different": "~", "missing": " "}
    for tag in sorted(by_tag):
        lines.append(f"## {tag}")
        lines.append("")
        lines.append("| operation | endpoint | " + " | ".join(titles) + " |")
        lines.append("|---|---|" + "---|" * len(titles))
        for op_id in by_tag[tag]:
            where = next(c[op_id].where for c in columns if op_id in c)
            cells = [marks[c[op_id].status] if op_id in c else "–" for c in columns]
            lines.append(f"| `{op_id}` | {where} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


# --- against a cvat-sdk package ------------------------------------------------------------------
# cvat-sdk is generated by openapi-generator from CVAT's schema; ``mockcvat.sdk_reference`` reads
# what the generator kept. ``sdk_view`` reduces an OpenAPI document to the same information, as
# the generator would: so mockcvat's schema can be diffed against the SDK of a release whose
# schema is not at hand.
FORM_TYPES = {"multipart/form-data", "application/x-www-form-urlencoded"}
_VALIDATIONS = {"maxLength": "max_length", "minLength": "min_length",
                "maxItems": "max_items", "minItems": "min_items"}


class _SdkView:
    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.schemas: Mapping[str, Any] = doc.get("components", {}).get("schemas", {})
        self.models: dict[str, Any] = {}

    def component(self, node: Any) -> tuple[str, Any]:
        name = _ref(node) or ""
        return name.rsplit("/", 1)[-1], self.schemas.get(name.rsplit("/", 1)[-1], {})

    def type_of(self, schema: Any) -> tuple[str, bool]:
        """(type text, nullable) as the generated client types a value."""
        if not isinstance(schema, Mapping):
            return "any", False
        nullable = bool(schema.get("nullable"))
        if _ref(schema):
            name, target = self.component(schema)
            if any(key in target for key in ("allOf", "oneOf", "anyOf")):
                kind, inner = self.composed(target)
                return kind, nullable or inner
            self.model(name, target)
            return name, nullable
        if "allOf" in schema and len(schema["allOf"]) == 1 and _ref(schema["allOf"][0]):
            _, target = self.component(schema["allOf"][0])
            if "enum" in target:  # the generator drops these to a free-form value
                return "any", True
        if any(key in schema for key in ("allOf", "oneOf", "anyOf")):
            kind, inner = self.composed(schema)
            return kind, nullable or inner
        kind = schema.get("type")
        fmt = schema.get("format")
        if kind == "string":
            return {"date-time": "datetime", "date": "date", "binary": "file"}.get(
                fmt, "str"), nullable
        if kind in ("integer", "number", "boolean"):
            return {"integer": "int", "number": "float", "boolean": "bool"}[kind], nullable
        if kind == "array":
            return "[" + self.type_of(schema.get("items"))[0] + "]", nullable
        if kind == "object" or "additionalProperties" in schema:
            extra = schema.get("additionalProperties")
            if isinstance(extra, Mapping) and extra:
                return "{str: " + self.type_of(extra)[0] + "}", nullable
            return "{str: any}", nullable
        return "any", True

    def composed(self, schema: Mapping[str, Any]) -> tuple[str, bool]:
        """``allOf``/``oneOf``/``anyOf``: the members, whatever name the generator gave."""
        parts = []
        for key in ("allOf", "oneOf", "anyOf"):
            if key in schema:
                members = sorted(self.type_of(m)[0] for m in schema[key])
                parts.append(f"{key}({', '.join(members)})")
        return " ".join(parts), bool(schema.get("nullable"))

    def model(self, name: str, schema: Mapping[str, Any]) -> None:
        if name in self.models:
            return
        self.models[name] = {}
        if "enum" in schema or schema.get("type") not in (None, "object"):
            kind, nullable = self.type_of({"type": "string", **{
                k: v for k, v in schema.items() if k != "enum"}})
            self.models[name] = {"kind": "simple", "type": kind, "nullable": nullable,
                                 "enum": _enum(schema), "validations": _validations(schema)}
            return
        required = set(schema.get("required", []))
        fields = {}
        for field_name, prop in (schema.get("properties") or {}).items():
            kind, nullable = self.type_of(prop)
            # an inline composition (allOf wrapper) loses readOnly in the generated model
            read_only = bool(prop.get("readOnly")) and not kind.endswith(")")
            fields[field_name] = {
                "type": kind, "required": field_name in required, "nullable": nullable,
                "read_only": read_only, "enum": _enum(prop),
                "validations": _validations(prop),
            }
        for field_name in list(fields):  # the generator's attribute names are snake case:
            snake = _SNAKE.sub(r"_\1", field_name).lower()  # of convMaskToPoly and
            if snake != field_name and snake in fields:  # conv_mask_to_poly one survives
                del fields[field_name]
        self.models[name] = {"kind": "object", "nullable": bool(schema.get("nullable")),
                             "fields": dict(sorted(fields.items()))}

    def parameter(self, schema: Any, required: bool) -> dict[str, Any]:
        kind, nullable = self.type_of(schema)
        schema = schema if isinstance(schema, Mapping) else {}
        return {"type": kind, "required": required, "nullable": nullable,
                "enum": _enum(schema), "validations": _validations(schema)}

    def operation(self, path: str, method: str, op: Mapping[str, Any]) -> dict[str, Any]:
        parameters = {}
        for param in op.get("parameters", []):
            parameters[f"{param['in']} {param['name']}"] = self.parameter(
                param.get("schema"), bool(param.get("required")))
        body = None
        request = op.get("requestBody")
        content_types: list[str] = []
        if request:
            content = request.get("content", {})
            content_types = sorted(content)
            plain = [mt for mt in content if mt not in FORM_TYPES]
            if plain:
                kind, _ = self.type_of(content[plain[0]].get("schema"))
                body = {"type": kind, "required": bool(request.get("required"))}
            elif content:
                form = content[next(iter(content))].get("schema", {})
                form = self.component(form)[1] if _ref(form) else form
                needed = set(form.get("required", []))
                for name, prop in (form.get("properties") or {}).items():
                    parameters[f"form {name}"] = self.parameter(prop, name in needed)
        response, accept, success = None, set(), None
        for code, reply in sorted(op.get("responses", {}).items()):
            content = reply.get("content") or {}
            accept |= set(content)
            if success is None and str(code).startswith("2"):  # the generator's: the first
                success = code
                if content:
                    response = self.type_of(next(iter(content.values())).get("schema"))[0]
        auth = sorted({name for item in op.get("security", []) for name in item})
        return {"path": path, "method": method, "parameters": dict(sorted(parameters.items())),
                "body": body, "content_types": content_types, "response": response,
                "accept": sorted(accept), "auth": auth}


def _enum(schema: Mapping[str, Any]) -> list[Any] | None:
    values = ["null" if v is None else v for v in schema.get("enum") or []]
    if schema.get("nullable") and "type" in schema:  # a nullable field's enum lists no null
        values = [v for v in values if v != "null"]
    return sorted(values, key=str) or None


def _validations(schema: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {_VALIDATIONS[k]: v for k, v in schema.items() if k in _VALIDATIONS}
    for bound, name in (("maximum", "maximum"), ("minimum", "minimum")):
        if bound in schema:
            exclusive = schema.get("exclusive" + bound.capitalize())
            out[("exclusive_" if exclusive else "inclusive_") + name] = schema[bound]
    if "pattern" in schema:
        out["regex"] = {"pattern": schema["pattern"]}
    return out


def read_sdk(python: str) -> dict[str, Any]:
    """``mockcvat.sdk_reference.describe()`` of the cvat-sdk that interpreter imports."""
    import subprocess

    script = Path(__file__).with_name("sdk_reference.py")
    done = subprocess.run([python, str(script)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"could not read cvat-sdk with {python}:\n{done.stderr.strip()}")
    return json.loads(done.stdout)


def sdk_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenAPI document as ``mockcvat.sdk_reference.describe()`` sees a generated SDK."""
    view = _SdkView(doc)
    ops = {op_id: view.operation(path, method, op)
           for op_id, (path, method, op) in operations(doc).items()}
    return {"version": doc.get("info", {}).get("version"), "operations": dict(sorted(ops.items())),
            "models": dict(sorted(view.models.items()))}


_MODEL_NAME = re.compile(r"\b[A-Z]\w*")
_SNAKE = re.compile(r"(?<=[a-z0-9])([A-Z])")
_FIELD_KEYS = ("type", "required", "nullable", "read_only", "enum", "validations")
_OPERATION_KEYS = ("content_types", "response", "accept", "auth")


def _structural(view: Mapping[str, Any]) -> dict[str, Any]:
    """A view whose composed models are written out (``oneOf(RqId, file)``): the generator
    names inline compositions after the first property it met, which says nothing."""
    models = view["models"]

    def expand(kind: str, nullable: bool) -> tuple[str, bool]:
        model = models.get(kind)
        if model is None or model.get("kind") != "composed":
            return kind, nullable
        parts = []
        for key in ("allOf", "oneOf", "anyOf"):
            if model.get(key):
                parts.append(f"{key}({', '.join(sorted(expand(m, False)[0] for m in model[key]))})")
        return " ".join(parts), nullable or bool(model.get("nullable"))

    def retype(kind: str, nullable: bool) -> tuple[str, bool]:
        # inside containers only the name changes: [JobReadAssignee] -> [allOf(BasicUser)]
        outer, outer_nullable = expand(kind, nullable)
        if outer != kind:
            return outer, outer_nullable
        return _MODEL_NAME.sub(lambda m: expand(m.group(0), False)[0], kind), nullable

    def fix(item: Mapping[str, Any]) -> dict[str, Any]:
        kind, nullable = retype(item["type"], bool(item.get("nullable")))
        return {**item, "type": kind, **({"nullable": nullable} if "nullable" in item else {})}

    out_models = {}
    for name, model in models.items():
        if model.get("kind") == "composed":
            continue
        model = dict(model)
        if "fields" in model:
            model["fields"] = {k: fix(f) for k, f in model["fields"].items()}
        out_models[name] = model
    out_ops = {}
    for op_id, op in view["operations"].items():
        op = dict(op)
        op["parameters"] = {k: fix(p) for k, p in op["parameters"].items()}
        if op.get("body"):
            op["body"] = fix({**op["body"], "nullable": False})
        if op.get("response"):
            op["response"] = retype(op["response"], False)[0]
        out_ops[op_id] = op
    return {**view, "operations": out_ops, "models": out_models}


def diff_sdk(ours: Mapping[str, Any], reference: Mapping[str, Any]) -> list[OperationDiff]:
    """``sdk_view(our schema)`` against ``sdk_reference.describe()`` of a cvat-sdk, in the
    ``diff()`` report's terms: per operation, its own differences and those of every model
    its parameters, body and response reach."""
    mine, theirs = _structural(ours), _structural(reference)
    results = []
    for op_id in sorted(set(mine["operations"]) | set(theirs["operations"])):
        a, b = mine["operations"].get(op_id), theirs["operations"].get(op_id)
        where = f"{(a or b)['method'].upper()} {(a or b)['path']}"
        if a is None or b is None:
            results.append(OperationDiff(op_id, "missing" if a is None else "extra", where))
            continue
        out: list[str] = []
        if (a["path"], a["method"]) != (b["path"], b["method"]):
            out.append(f"endpoint: ours {a['method'].upper()} {a['path']}, "
                       f"SDK {b['method'].upper()} {b['path']}")
        out += _paired(a["parameters"], b["parameters"], lambda key: f"parameter {key}",
                       lambda label, x, y: _items(label, x, y, _FIELD_KEYS))
        if bool(a["body"]) != bool(b["body"]):
            out.append(f"body: ours {_short(a['body'])}, SDK {_short(b['body'])}")
        elif a["body"]:
            out += _items("body", a["body"], b["body"], ("type", "required"))
        out += _items("operation", a, b, _OPERATION_KEYS)
        names: set[str] = set()
        for item in [*a["parameters"].values(), *b["parameters"].values(), a["body"] or {},
                     b["body"] or {}, {"type": a["response"] or ""},
                     {"type": b["response"] or ""}]:
            names |= set(_MODEL_NAME.findall(item.get("type") or ""))
        out += _ModelComparer(mine["models"], theirs["models"]).walk(names)
        results.append(OperationDiff(op_id, "different" if out else "same", where, out))
    return results


def _items(label: str, a: Mapping[str, Any], b: Mapping[str, Any], keys: Iterable[str]
           ) -> list[str]:
    return [f"{label}.{key}: ours {_short(a.get(key))}, SDK {_short(b.get(key))}"
            for key in keys if a.get(key) != b.get(key)]


class _ModelComparer:
    def __init__(self, mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> None:
        self.mine, self.theirs = mine, theirs

    def walk(self, names: set[str]) -> list[str]:
        out: list[str] = []
        seen: set[str] = set()
        todo = sorted(names)
        while todo:
            name = todo.pop(0)
            if name in seen:
                continue
            seen.add(name)
            a, b = self.mine.get(name), self.theirs.get(name)
            if a is None or b is None:
                out.append(f"model {name}: {'missing' if a is None else 'extra'}")
                continue
            out += _items(f"model {name}", a, b, ("kind", "type", "nullable", "enum",
                                                  "validations"))
            fields_a, fields_b = a.get("fields", {}), b.get("fields", {})
            out += _paired(fields_a, fields_b, lambda key, n=name: f"model {n}.{key}",
                           lambda label, x, y: _items(label, x, y, _FIELD_KEYS))
            for field_ in [*fields_a.values(), *fields_b.values()]:
                todo += [n for n in _MODEL_NAME.findall(field_["type"]) if n not in seen]
            todo.sort()
        return out
