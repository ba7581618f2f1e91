"""A small declarative serializer layer with Django REST Framework's semantics.

One declaration of a serializer gives three things, exactly as CVAT's stack (DRF +
drf-spectacular with COMPONENT_SPLIT_REQUEST) derives them from one DRF serializer:

* validation of request bodies, with DRF's coercion rules and DRF's error messages;
* representation of objects in responses (datetimes as ISO 8601 with ``Z``);
* the OpenAPI components: ``Name`` (response), ``NameRequest`` and ``PatchedNameRequest``.

Pydantic is not used for this on purpose: its coercion and error texts differ from DRF's
(e.g. DRF accepts ``5`` for a CharField), and its JSON Schema differs from drf-spectacular's
OpenAPI 3.0 shape; converting both would be as large as this module.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from mockcvat import compat
from mockcvat.errors import ValidationFailed

REQUIRED = "This field is required."
NOT_NULL = "This field may not be null."
_MISSING = object()


def _type_name(value: Any) -> str:
    return type(value).__name__


class Field:
    """Base of all fields; the keyword arguments mean what they mean in DRF."""

    openapi_type: ClassVar[str | None] = None
    openapi_format: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        required: bool | None = None,
        read_only: bool = False,
        write_only: bool = False,
        allow_null: bool = False,
        default: Any = _MISSING,
        source: str | Callable[[Any], Any] | None = None,
        title: str | None = None,
        help_text: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> None:
        self.read_only = read_only
        self.write_only = write_only
        self.allow_null = allow_null
        self.default = default
        self.required = (
            required if required is not None else (not read_only and default is _MISSING)
        )
        self.source = source
        self.title = title
        self.help_text = help_text
        self.since, self.until = since, until  # CVAT versions that have the field
        self.name = ""

    def present(self) -> bool:
        return self.since is None and self.until is None or compat.current().has(
            self.since, self.until
        )

    # --- validation -------------------------------------------------------------
    def validate(self, value: Any) -> Any:
        if value is None:
            if self.allow_null:
                return None
            raise ValidationFailed([NOT_NULL])
        return self.to_internal(value)

    def to_internal(self, value: Any) -> Any:
        return value

    # --- representation ---------------------------------------------------------
    def to_representation(self, value: Any) -> Any:
        return value

    # --- OpenAPI ----------------------------------------------------------------
    def base_schema(self, request: bool) -> dict[str, Any]:
        schema: dict[str, Any] = {}
        if self.openapi_type:
            schema["type"] = self.openapi_type
        if self.openapi_format:
            schema["format"] = self.openapi_format
        return schema

    def openapi(self, request: bool) -> dict[str, Any]:
        schema = self.base_schema(request)
        if self.title:
            schema["title"] = self.title
        if self.help_text:
            schema["description"] = self.help_text
        if self.read_only and not request:
            schema["readOnly"] = True
        if self.write_only and request:
            schema["writeOnly"] = True
        if self.allow_null:
            schema["nullable"] = True
        return schema


class CharField(Field):
    openapi_type = "string"

    def __init__(
        self,
        *,
        max_length: int | None = None,
        min_length: int | None = None,
        allow_blank: bool = False,
        trim_whitespace: bool = True,
        pattern: str | None = None,
        pattern_message: str | None = None,
        pattern_in_schema: bool = True,  # False: a model validator drf-spectacular omits
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pattern_in_schema = pattern_in_schema
        self.max_length = max_length
        self.min_length = min_length
        self.allow_blank = allow_blank
        self.trim_whitespace = trim_whitespace
        self.pattern = pattern
        self.pattern_message = pattern_message

    def to_internal(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationFailed(["Not a valid string."])
        text = str(value)
        if self.trim_whitespace:
            text = text.strip()
        if text == "":
            if not self.allow_blank:
                raise ValidationFailed(["This field may not be blank."])
            return text
        errors = []
        if self.max_length is not None and len(text) > self.max_length:
            errors.append(f"Ensure this field has no more than {self.max_length} characters.")
        if self.min_length is not None and len(text) < self.min_length:
            errors.append(f"Ensure this field has at least {self.min_length} characters.")
        if self.pattern and not re.search(self.pattern, text):
            errors.append(self.pattern_message or "This value does not match the required pattern.")
        errors.extend(self.extra_checks(text))
        if errors:
            raise ValidationFailed(errors)
        return text

    def extra_checks(self, text: str) -> list[str]:
        return []

    def base_schema(self, request: bool) -> dict[str, Any]:
        schema = super().base_schema(request)
        if self.pattern and self.pattern_in_schema:
            schema["pattern"] = self.pattern
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.min_length is not None:
            schema["minLength"] = self.min_length
        elif request and not self.allow_blank and not self.read_only:
            schema["minLength"] = 1
        return schema


_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class EmailField(CharField):
    openapi_format = "email"

    def extra_checks(self, text: str) -> list[str]:
        return [] if _EMAIL_RE.match(text) else ["Enter a valid email address."]


class URLField(CharField):
    openapi_format = "uri"


class IntegerField(Field):
    openapi_type = "integer"
    _decimal_tail = re.compile(r"\.0*\s*$")

    def __init__(
        self, *, min_value: int | None = None, max_value: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.min_value = min_value
        self.max_value = max_value

    def to_internal(self, value: Any) -> Any:
        if isinstance(value, str) and len(value) > 1000:
            raise ValidationFailed(["String value too large."])
        try:
            number = int(self._decimal_tail.sub("", str(value)))
        except (TypeError, ValueError):
            raise ValidationFailed(["A valid integer is required."]) from None
        if self.max_value is not None and number > self.max_value:
            raise ValidationFailed(
                [f"Ensure this value is less than or equal to {self.max_value}."]
            )
        if self.min_value is not None and number < self.min_value:
            raise ValidationFailed(
                [f"Ensure this value is greater than or equal to {self.min_value}."]
            )
        return number

    def base_schema(self, request: bool) -> dict[str, Any]:
        schema = super().base_schema(request)
        if self.max_value is not None:
            schema["maximum"] = self.max_value
        if self.min_value is not None:
            schema["minimum"] = self.min_value
        return schema


TRUE_VALUES = {"t", "y", "yes", "true", "on", "1", 1}
FALSE_VALUES = {"f", "n", "no", "false", "off", "0", 0}


def parse_bool(value: Any) -> bool | None:
    """DRF BooleanField's accepted spellings; ``None`` when the value is none of them."""
    key = value.lower() if isinstance(value, str) else value
    try:
        if key in TRUE_VALUES:
            return True
        if key in FALSE_VALUES:
            return False
    except TypeError:  # unhashable (list, dict)
        pass
    return None


class BooleanField(Field):
    openapi_type = "boolean"

    def to_internal(self, value: Any) -> Any:
        parsed = parse_bool(value)
        if parsed is None:
            raise ValidationFailed(["Must be a valid boolean."])
        return parsed


class FloatField(Field):
    openapi_type = "number"
    openapi_format = "double"

    def to_internal(self, value: Any) -> Any:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValidationFailed(["A valid number is required."]) from None


def format_datetime(value: dt.datetime | None) -> str | None:
    """DRF's default datetime output: ISO 8601, UTC shown as ``Z``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    text = value.astimezone(dt.UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class DateTimeField(Field):
    openapi_type = "string"
    openapi_format = "date-time"

    def to_internal(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                parsed = None
            if parsed is not None:
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        raise ValidationFailed(
            [
                "Datetime has wrong format. Use one of these formats instead: "
                "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
            ]
        )

    def to_representation(self, value: Any) -> Any:
        return format_datetime(value)


class ChoiceField(Field):
    """A string choice; rendered as a ``$ref`` to a named enum component like DRF does."""

    def __init__(self, choices: Iterable[str], *, enum_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = list(choices)
        self.enum_name = enum_name

    def to_internal(self, value: Any) -> Any:
        valid = isinstance(value, str | int) and not isinstance(value, bool)
        if valid and str(value) in self.choices:
            return str(value)
        raise ValidationFailed([f'"{value}" is not a valid choice.'])

    def openapi(self, request: bool) -> dict[str, Any]:
        ref = {"$ref": f"#/components/schemas/{self.enum_name}"}
        extra = super().openapi(request)
        if not extra:
            return ref
        return {"allOf": [ref], **extra}

    def enum_component(self) -> dict[str, Any]:
        return {
            "enum": self.choices,
            "type": "string",
            "description": "\n".join(f"* `{c}` - {c}" for c in self.choices),
        }


class JSONField(Field):
    """Any JSON value (DRF's JSONField); drf-spectacular documents it as an object."""

    openapi_type = "object"


class ListField(Field):
    openapi_type = "array"

    def __init__(self, child: Field, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.child = child

    def to_internal(self, value: Any) -> Any:
        if isinstance(value, str | Mapping) or not isinstance(value, list | tuple):
            raise ValidationFailed(
                [f'Expected a list of items but got type "{_type_name(value)}".']
            )
        result, errors = [], {}
        for index, item in enumerate(value):
            try:
                result.append(self.child.validate(item))
            except ValidationFailed as exc:
                errors[str(index)] = exc.detail
        if errors:
            raise ValidationFailed(errors)
        return result

    def to_representation(self, value: Any) -> Any:
        return [self.child.to_representation(v) for v in value or []]

    def base_schema(self, request: bool) -> dict[str, Any]:
        schema = super().base_schema(request)
        schema["items"] = self.child.openapi(request)
        return schema


class NestedField(Field):
    """A nested serializer, referenced by its component name."""

    def __init__(self, serializer: type[Serializer], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.serializer = serializer

    def to_internal(self, value: Any) -> Any:
        return self.serializer.validate(value)

    def to_representation(self, value: Any) -> Any:
        return self.serializer.dump(value)

    def openapi(self, request: bool) -> dict[str, Any]:
        name = self.serializer.component_name(request=request)
        ref = {"$ref": f"#/components/schemas/{name}"}
        extra = super().openapi(request)
        if not extra:
            return ref
        return {"allOf": [ref], **extra}


class Serializer:
    """Subclasses declare ``fields`` (name -> Field) and optionally ``component``."""

    fields: ClassVar[dict[str, Field]] = {}
    component: ClassVar[str | None] = None  # defaults to the class name
    description: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, field in cls.fields.items():
            field.name = name
        cls._dump_plans: dict[tuple[int, ...], list[tuple[str, Any, Any]]] = {}

    @classmethod
    def _dump_plan(cls) -> list[tuple[str, Any, Any]]:
        """(name, key or getter, converter or None) of the fields this version shows."""
        version = compat.current().version
        plan = cls._dump_plans.get(version)
        if plan is None:
            plan = [
                (name, field.source if callable(field.source) else (field.source or name),
                 field.to_representation
                 if type(field).to_representation is not Field.to_representation else None)
                for name, field in cls.fields.items()
                if not field.write_only and field.present()
            ]
            cls._dump_plans[version] = plan
        return plan

    @classmethod
    def component_name(cls, *, request: bool = False, partial: bool = False) -> str:
        base = cls.component or cls.__name__
        if not request:
            return base
        return f"Patched{base}Request" if partial else f"{base}Request"

    @classmethod
    def validate(
        cls,
        data: Any,
        *,
        partial: bool = False,
        checks: Mapping[str, Callable[[Any], Any]] | None = None,
    ) -> dict[str, Any]:
        """Validate a request body the way ``serializer.is_valid(raise_exception=True)`` does.

        ``checks`` are DRF's ``validate_<field>`` hooks (e.g. uniqueness against the database):
        each runs on its field's value once the field itself is valid, may raise
        ``ValidationFailed``, and returns the value to keep.
        """
        if not isinstance(data, Mapping):
            raise ValidationFailed(
                {
                    "non_field_errors": [
                        f"Invalid data. Expected a dictionary, but got {_type_name(data)}."
                    ]
                }
            )
        result: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for name, field in cls.fields.items():
            if field.read_only or not field.present():
                continue
            if name not in data:
                if partial:
                    continue
                if field.required:
                    errors[name] = [REQUIRED]
                elif field.default is not _MISSING:
                    result[name] = field.default
                continue
            try:
                result[name] = field.validate(data[name])
                if checks and name in checks:
                    result[name] = checks[name](result[name])
            except ValidationFailed as exc:
                errors[name] = exc.detail
        if not errors:
            try:
                result = cls.validate_object(result, partial=partial)
            except ValidationFailed as exc:
                errors = exc.detail if isinstance(exc.detail, dict) else {
                    "non_field_errors": exc.detail
                }
        if errors:
            raise ValidationFailed(errors)
        return result

    @classmethod
    def validate_object(cls, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        """Cross-field checks (DRF's ``Serializer.validate``); override when needed."""
        return data

    @classmethod
    def dump(cls, obj: Any) -> dict[str, Any] | None:
        if obj is None:
            return None
        mapping = type(obj) is dict or isinstance(obj, Mapping)
        out: dict[str, Any] = {}
        for name, source, convert in cls._dump_plan():
            if callable(source):
                value = source(obj)
            else:
                value = obj.get(source) if mapping else getattr(obj, source, None)
            out[name] = convert(value) if convert is not None and value is not None else value
        return out

    @classmethod
    def openapi(cls, *, request: bool = False, partial: bool = False) -> dict[str, Any]:
        props: dict[str, Any] = {}
        required: list[str] = []
        for name, field in cls.fields.items():
            if (request and field.read_only) or not field.present():
                continue
            if not request and field.write_only:
                continue
            props[name] = field.openapi(request)
            if field.required and not field.read_only and not partial:
                required.append(name)
        schema: dict[str, Any] = {"type": "object"}
        if cls.description:
            schema["description"] = cls.description
        schema["properties"] = props
        if required:
            schema["required"] = sorted(required)
        return schema

    @classmethod
    def nested(cls) -> Iterable[Field]:
        """Every field, depth-first, for collecting the components it refers to."""
        for field in cls.fields.values():
            yield field
            child = field.child if isinstance(field, ListField) else None
            if child is not None:
                yield child
