"""A small declarative serializer layer with Django REST Framework's semantics.

One declaration of a serializer gives three things, exactly as CVAT's stack (DRF +
drf-spectacular with COMPONENT_SPLIT_REQUEST) derives them from one DRF serializer:

* validation of request bodies, with DRF's coercion rules and DRF's error messages;
* representation of objects in responses (datetimes as ISO 8601 with ``Z``);
* the OpenAPI components: ``Name`` (response), ``NameRequest`` and ``PatchedNameRequest``.

Pydantic is not used for this on purpose: its coercion and error texts differ from DRF's
(e.g. DRF accepts ``5`` for a CharField), and its JSON Schema differs from drf-spectacular's
OpenAPI 3.0 shape; converting both would be as large as this module.

DRF features beyond plain fields, and how they are declared here:

* ``Field(checks=[...])``: DRF's ``validate_<field>`` hooks and field validators; each runs on
  the field's valid, non-null value, may raise ``ValidationFailed`` and returns the value to keep.
* ``Field(default=...)``: used when the key is absent (not on partial updates); a callable is
  called, and a non-callable, non-null default is shown in the schema as drf-spectacular does.
* ``Field(write_once=True)``: CVAT's ``WriteOnceMixin``: read-only on updates, so ignored by
  ``validate(partial=True)`` and left out of the ``PatchedXRequest`` component;
  ``Field(update_only=True)``, the converse: only ``validate(partial=True)`` reads it and only
  ``PatchedXRequest`` shows it (a field of CVAT's PATCH serializer alone).
* ``NestedField(X, partial=True)``: a nested serializer built with ``partial=True`` (its request
  component is ``PatchedXRequest``). Nested validation follows the root serializer's ``partial``
  (DRF's ``self.root.partial``), whatever the nested flag.
* ``ListSerializerField(X)``: ``X(many=True)``, DRF's ListSerializer, whose errors differ from
  ``ListField``'s (a list with ``{}`` for valid items; non-list input under ``non_field_errors``).
* ``ChoiceField(allow_null=True)``: drf-spectacular's ``oneOf: [XEnum, NullEnum]`` (and
  ``BlankEnum`` for ``allow_blank``); choices may be ``(value, label)`` pairs as in Django.
* ``Serializer.omit_missing = True``: DRF's output rule for an attribute that does not exist
  (dict key absent, or a callable source returning ``ABSENT``): the field's default, else
  ``None`` if it allows null, else the key is left out when the field is not required.
  ``Field(schema_nullable=True)`` marks a field ``nullable`` in the schema without
  ``allow_null`` (DRF's ``ReadOnlyField(source="data.chunk_size")``, which drf-spectacular
  documents from the model while DRF drops the key when ``data`` is None).
* ``Serializer.one_of`` / ``any_of``: a component that is only a ``oneOf``/``anyOf`` of other
  serializers or of plain schema dicts (e.g. ``{"type": "string", "format": "binary"}``);
  ``Serializer.nullable = True`` adds ``nullable: true`` beside it (drf-spectacular's
  ``PolymorphicProxySerializer`` over serializers built with ``required=False``).
* ``Serializer.prepare_input(data)``: an overridden DRF ``to_internal_value`` that rewrites the
  raw input before the fields see it (CVAT's ``AttributeValSerializer`` runs ``str()`` on
  ``value``); it runs before the "Expected a dictionary" check, as DRF's override does.
* ``Field.required_message``: DRF's per-field ``error_messages["required"]`` (``FileField``'s
  is ``"No file was submitted."``).
"""

from __future__ import annotations

import contextvars
import copy
import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from mockcvat import compat
from mockcvat.errors import ValidationFailed

REQUIRED = "This field is required."
NOT_NULL = "This field may not be null."
NOT_EMPTY_LIST = "This list may not be empty."
_MISSING = object()


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()
"""Returned by a callable ``source`` when the object has no such attribute (see omit_missing)."""

# The ``partial`` flag of the outermost serializer being validated: nested serializers follow it,
# as DRF's fields consult ``self.root.partial``.
_ROOT_PARTIAL: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "mockcvat_root_partial", default=False)


def _type_name(value: Any) -> str:
    return type(value).__name__


class Field:
    """Base of all fields; the keyword arguments mean what they mean in DRF."""

    openapi_type: ClassVar[str | None] = None
    openapi_format: ClassVar[str | None] = None
    required_message: ClassVar[str] = REQUIRED  # DRF's error_messages["required"]

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
        write_once: bool = False,
        update_only: bool = False,
        checks: Sequence[Callable[[Any], Any]] = (),
        schema_nullable: bool | None = None,
        nullable_since: str | None = None,
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
        self.write_once = write_once
        self.update_only = update_only  # only in PATCH bodies and ``PatchedXRequest``
        self.checks = tuple(checks)
        # drf-spectacular reads nullability from the model for ReadOnlyField(source="a.b");
        # DRF itself then still drops the key when ``a`` is None (see Serializer.omit_missing)
        self.schema_nullable = allow_null if schema_nullable is None else schema_nullable
        self.nullable_since = nullable_since  # the CVAT release whose schema says nullable
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
        value = self.to_internal(value)
        for check in self.checks:
            value = check(value)
        return value

    def get_default(self) -> Any:
        """The value used for an absent key (DRF's ``get_default``)."""
        if callable(self.default):
            return self.default()
        return copy.deepcopy(self.default)

    def has_default(self) -> bool:
        return self.default is not _MISSING

    def missing_value(self) -> Any:
        """What DRF outputs when the attribute does not exist: ``ABSENT`` means no key."""
        if self.has_default():
            return self.get_default()
        if self.allow_null or self.required:
            return None
        return ABSENT

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
        if self.schema_nullable and (self.nullable_since is None
                                     or compat.current().has(since=self.nullable_since)):
            schema["nullable"] = True
        if self.has_default() and self.default is not None and not callable(self.default):
            schema["default"] = self.to_representation(copy.deepcopy(self.default))
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
        # False: a length the schema does not show (the database column's, checked here so
        # that an over-long value is a 400, where CVAT's database answered a 500)
        length_in_schema: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pattern_in_schema = pattern_in_schema
        self.length_in_schema = length_in_schema
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
        # the two validators DRF adds to every CharField
        if "\x00" in text:
            errors.append("Null characters are not allowed.")
        surrogate = SURROGATES.search(text)
        if surrogate:
            errors.append(
                f"Surrogate characters are not allowed: U+{ord(surrogate.group()):X}.")
        if errors:
            raise ValidationFailed(errors)
        return text

    def extra_checks(self, text: str) -> list[str]:
        return []

    def base_schema(self, request: bool) -> dict[str, Any]:
        schema = super().base_schema(request)
        if self.pattern and self.pattern_in_schema:
            schema["pattern"] = self.pattern
        if self.max_length is not None and self.length_in_schema:
            schema["maxLength"] = self.max_length
        if self.min_length is not None:
            schema["minLength"] = self.min_length
        elif request and not self.allow_blank and not self.read_only:
            schema["minLength"] = 1
        return schema


SURROGATES = re.compile("[\ud800-\udfff]")  # lone UTF-16 halves: no UTF-8 text holds one
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class EmailField(CharField):
    openapi_format = "email"

    def extra_checks(self, text: str) -> list[str]:
        return [] if _EMAIL_RE.match(text) else ["Enter a valid email address."]


# Django's URLValidator (DRF's URLField): http(s)/ftp(s), a host that is localhost, an IPv4 or
# IPv6 address or a dotted domain name with a TLD, an optional port, no whitespace
_URL_RE = re.compile(
    r"^(?:http|ftp)s?://(?:[^\s:@/]+(?::[^\s:@/]*)?@)?"
    r"(?:localhost|(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}"
    r"|\[[0-9a-fA-F:.]+\]"
    r"|(?:[a-zA-Z0-9\u00a1-\uffff](?:[a-zA-Z0-9\u00a1-\uffff-]{0,61}[a-zA-Z0-9\u00a1-\uffff])?\.)+"
    r"(?:[a-zA-Z\u00a1-\uffff-]{2,63}|xn--[a-zA-Z0-9]{1,59})\.?)"
    r"(?::\d{1,5})?(?:[/?#][^\s]*)?$", re.IGNORECASE)


class URLField(CharField):
    openapi_format = "uri"

    def extra_checks(self, text: str) -> list[str]:
        return [] if _URL_RE.match(text) else ["Enter a valid URL."]


STORABLE_INT = 2**31 - 1  # PostgreSQL's integer, the type of CVAT's integer columns


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
        # Unbounded fields are still bounded by the integer column behind them (CVAT answers a
        # 500 from PostgreSQL there); the bound is not part of the schema, as in CVAT's.
        high = STORABLE_INT if self.max_value is None else self.max_value
        low = -STORABLE_INT - 1 if self.min_value is None else self.min_value
        if number > high:
            raise ValidationFailed([f"Ensure this value is less than or equal to {high}."])
        if number < low:
            raise ValidationFailed([f"Ensure this value is greater than or equal to {low}."])
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

    def __init__(self, *, min_value: float | None = None, max_value: float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.min_value = min_value
        self.max_value = max_value

    def to_internal(self, value: Any) -> Any:
        if isinstance(value, str) and len(value) > 1000:
            raise ValidationFailed(["String value too large."])
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValidationFailed(["A valid number is required."]) from None
        except OverflowError:
            raise ValidationFailed(["Integer value too large to convert to float"]) from None
        if not math.isfinite(number):  # "nan", "inf": CVAT stores them, then cannot read back
            raise ValidationFailed(["A valid number is required."])
        errors = []  # DRF runs both validators and reports every failure
        if self.max_value is not None and number > self.max_value:
            errors.append(f"Ensure this value is less than or equal to {self.max_value}.")
        if self.min_value is not None and number < self.min_value:
            errors.append(f"Ensure this value is greater than or equal to {self.min_value}.")
        if errors:
            raise ValidationFailed(errors)
        return number

    def base_schema(self, request: bool) -> dict[str, Any]:
        schema = super().base_schema(request)
        if self.max_value is not None:
            schema["maximum"] = self.max_value
        if self.min_value is not None:
            schema["minimum"] = self.min_value
        return schema


class FileField(Field):
    """DRF's ``FileField``: an uploaded file (Starlette's ``UploadFile``: ``filename``,
    ``size``); anything else, a plain form value included, is "not a file"."""

    openapi_type = "string"
    openapi_format = "binary"
    required_message = "No file was submitted."

    def __init__(self, *, allow_empty_file: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.allow_empty_file = allow_empty_file

    def to_internal(self, value: Any) -> Any:
        name = getattr(value, "filename", getattr(value, "name", _MISSING))
        if name is _MISSING or not hasattr(value, "size") or isinstance(value, str | bytes):
            raise ValidationFailed(
                ["The submitted data was not a file. Check the encoding type on the form."])
        if not name:
            raise ValidationFailed(["No filename could be determined."])
        # a size of None means "not known" (a spooled upload), not "empty"
        if not self.allow_empty_file and value.size == 0:
            raise ValidationFailed(["The submitted file is empty."])
        return value


class PrimaryKeyField(IntegerField):
    """DRF's ``PrimaryKeyRelatedField`` over an integer key: the pk is parsed here (Django's
    lookup takes ints and digit strings); whether the object exists is the service's check,
    with ``does_not_exist`` (the raw value, as DRF shows it)."""

    @staticmethod
    def does_not_exist(raw: Any) -> str:
        return f'Invalid pk "{raw}" - object does not exist.'

    def to_internal(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValidationFailed(
                [f"Incorrect type. Expected pk value, received {_type_name(value)}."])
        try:
            return int(value)
        except (ValueError, OverflowError):
            raise ValidationFailed(
                [f"Incorrect type. Expected pk value, received {_type_name(value)}."]) from None


class UUIDField(CharField):
    openapi_format = "uuid"


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


def enum_choices(values: Iterable[str]) -> list[tuple[str, str]]:
    """The ``choices()`` of CVAT's ``str`` enums: ``(value, MEMBER_NAME)`` pairs."""
    return [(v, v.upper().replace(" ", "_").replace("-", "_")) for v in values]


class ChoiceField(Field):
    """A string choice; rendered as a ``$ref`` to a named enum component like DRF does.

    ``choices`` are values or Django-style ``(value, label)`` pairs; the labels only feed the
    enum's description (CVAT's enums use the member names: ``* `video` - VIDEO``). Choices that
    only some CVAT versions have: ``choice_versions`` (value -> (since, until); see
    ``changed_choices``), or ``choices`` as a callable read at each use (a list that the
    emulated version computes, e.g. the webhook event catalog).
    """

    def __init__(self, choices: Iterable[str | tuple[str, str]] | Callable[[], Iterable[Any]]
                 | compat.ByVersion[Any], *, enum_name: str, allow_blank: bool = False,
                 choice_versions: Mapping[str, tuple[str | None, str | None]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._choices = (choices if callable(choices) or isinstance(choices, compat.ByVersion)
                         else list(choices))
        self.enum_name = enum_name
        self.allow_blank = allow_blank
        # value -> (since, until): choices only some CVAT versions have
        self.choice_versions = dict(choice_versions or {})

    def _pairs(self) -> list[tuple[str, str]]:
        raw = self._choices() if callable(self._choices) else compat.resolve(self._choices)
        return [c if isinstance(c, tuple) else (c, c) for c in raw]

    @property
    def labels(self) -> dict[str, str]:
        return dict(self._pairs())

    @property
    def choices(self) -> list[str]:
        values = [value for value, _ in self._pairs()]
        if not self.choice_versions:
            return values
        version = compat.current()
        return [c for c in values
                if c not in self.choice_versions or version.has(*self.choice_versions[c])]

    def to_internal(self, value: Any) -> Any:
        if value == "" and self.allow_blank:
            return ""
        valid = isinstance(value, str | int) and not isinstance(value, bool)
        if valid and str(value) in self.choices:
            return str(value)
        raise ValidationFailed([f'"{value}" is not a valid choice.'])

    def openapi(self, request: bool) -> dict[str, Any]:
        ref = {"$ref": f"#/components/schemas/{self.enum_name}"}
        extra = super().openapi(request)
        if self.help_text:  # drf-spectacular appends the choices to the field's help text
            extra["description"] = f"{self.help_text}\n\n{self._choices_description()}"
        alternatives = [ref] + [{"$ref": f"#/components/schemas/{name}"}
                                for name in self.extra_components()]
        if len(alternatives) > 1:  # drf-spectacular's split of blank/null out of the enum
            return {**extra, "oneOf": alternatives}
        if not extra:
            return ref
        return {"allOf": [ref], **extra}

    def _choices_description(self) -> str:
        return "\n".join(f"* `{c}` - {self.labels[c]}" for c in self.choices)

    def enum_component(self) -> dict[str, Any]:
        return {"enum": self.choices, "type": "string",
                "description": self._choices_description()}

    def extra_components(self) -> dict[str, Any]:
        """``BlankEnum``/``NullEnum``, which drf-spectacular adds for blank/null choices."""
        extra: dict[str, Any] = {}
        if self.allow_blank:
            extra["BlankEnum"] = {"enum": [""]}
        if self.schema_nullable:
            extra["NullEnum"] = {"enum": [None]}
        return extra


def changed_choices(changed_in: str, *, added: Iterable[str] = (),
                    removed: Iterable[str] = ()) -> dict[str, tuple[str | None, str | None]]:
    """``choice_versions`` of a choice list that changed in CVAT release ``changed_in``:
    ``added`` exist from then on, ``removed`` only before."""
    return {**dict.fromkeys(added, (changed_in, None)),
            **dict.fromkeys(removed, (None, changed_in))}


class JSONField(Field):
    """Any JSON value (DRF's JSONField); drf-spectacular documents it as an object, or (``any``)
    as a schema without a type."""

    openapi_type = "object"

    def __init__(self, *, any_value: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.any_value = any_value

    def base_schema(self, request: bool) -> dict[str, Any]:
        return {} if self.any_value else super().base_schema(request)


class ListField(Field):
    openapi_type = "array"

    def __init__(self, child: Field, *, allow_empty: bool = True, max_length: int | None = None,
                 min_length: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.child = child
        self.allow_empty = allow_empty
        self.max_length = max_length
        self.min_length = min_length

    def to_internal(self, value: Any) -> Any:
        if isinstance(value, str | Mapping) or not isinstance(value, list | tuple):
            raise ValidationFailed(
                [f'Expected a list of items but got type "{_type_name(value)}".']
            )
        if not self.allow_empty and not value:
            raise ValidationFailed([NOT_EMPTY_LIST])
        if self.max_length is not None and len(value) > self.max_length:
            raise ValidationFailed(
                [f"Ensure this field has no more than {self.max_length} elements."])
        if self.min_length is not None and len(value) < self.min_length:
            raise ValidationFailed(
                [f"Ensure this field has at least {self.min_length} elements."])
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
        return [self.child.to_representation(v) if v is not None else None for v in value or []]

    def base_schema(self, request: bool) -> dict[str, Any]:
        schema = super().base_schema(request)
        schema["items"] = self.child.openapi(request)
        if self.max_length is not None:
            schema["maxItems"] = self.max_length
        if self.min_length is not None:
            schema["minItems"] = self.min_length
        return schema


class DictField(Field):
    """DRF's ``DictField(child=...)``: an object of any keys whose values are ``child``
    (drf-spectacular: ``additionalProperties``)."""

    openapi_type = "object"

    def __init__(self, child: Field | type[Serializer], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(child, type) and issubclass(child, Serializer):
            child = NestedField(child)
        self.child = child

    def to_internal(self, value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise ValidationFailed(
                [f'Expected a dictionary of items but got type "{_type_name(value)}".'])
        result, errors = {}, {}
        for key, item in value.items():
            try:
                result[str(key)] = self.child.validate(item)
            except ValidationFailed as exc:
                errors[str(key)] = exc.detail
        if errors:
            raise ValidationFailed(errors)
        return result

    def to_representation(self, value: Any) -> Any:
        return {k: self.child.to_representation(v) for k, v in (value or {}).items()}

    def base_schema(self, request: bool) -> dict[str, Any]:
        schema = super().base_schema(request)
        schema["additionalProperties"] = self.child.openapi(request)
        return schema


class ListSerializerField(ListField):
    """A nested serializer declared with ``many=True``: DRF's ``ListSerializer``.

    ``child`` is a serializer class (``partial`` is then the nested serializer's flag, see
    ``NestedField``) or a field (CVAT's ``ListSerializer(child=IntegerField())``). Its errors
    differ from ``ListField``'s: ``{"non_field_errors": [...]}`` for a non-list or an empty
    list, and a list with one entry per item (``{}`` for the valid ones) otherwise.
    """

    def __init__(self, child: type[Serializer] | Field, *, partial: bool = False,
                 **kwargs: Any) -> None:
        if isinstance(child, type) and issubclass(child, Serializer):
            child = NestedField(child, partial=partial)
        super().__init__(child, **kwargs)

    def to_internal(self, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValidationFailed({"non_field_errors": [
                f'Expected a list of items but got type "{_type_name(value)}".']})
        if not self.allow_empty and not value:
            raise ValidationFailed({"non_field_errors": [NOT_EMPTY_LIST]})
        result: list[Any] = []
        errors: list[Any] = []
        for item in value:
            try:
                result.append(self.child.validate(item))
                errors.append({})
            except ValidationFailed as exc:
                errors.append(exc.detail)
        if any(errors):
            raise ValidationFailed(errors)
        return result


class NestedField(Field):
    """A nested serializer, referenced by its component name.

    ``partial=True`` is DRF's ``X(partial=True)``: it only names the request component
    ``PatchedXRequest`` (and drops its ``required``); validation follows the root's ``partial``.
    """

    def __init__(self, serializer: type[Serializer], *, partial: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.serializer = serializer
        self.partial = partial

    def to_internal(self, value: Any) -> Any:
        return self.serializer.validate(value, partial=_ROOT_PARTIAL.get())

    def to_representation(self, value: Any) -> Any:
        return self.serializer.dump(value)

    def openapi(self, request: bool) -> dict[str, Any]:
        name = self.serializer.component_name(request=request, partial=request and self.partial)
        ref = {"$ref": f"#/components/schemas/{name}"}
        extra = super().openapi(request)
        if not extra:
            return ref
        return {"allOf": [ref], **extra}


class Serializer:
    """Subclasses declare ``fields`` (name -> Field) and optionally ``component``.

    ``omit_missing`` (DRF's output rule for missing attributes) and ``one_of``/``any_of``
    (components that are only alternatives) are described in the module docstring.
    """

    # a field whose declaration changed between CVAT releases is a ``compat.ByVersion`` of
    # fields (each variant then its own ``since``/``until``-free declaration)
    fields: ClassVar[dict[str, Any]] = {}
    component: ClassVar[str | None] = None  # defaults to the class name
    description: ClassVar[str | None] = None
    omit_missing: ClassVar[bool] = False
    one_of: ClassVar[tuple[Any, ...] | None] = None
    any_of: ClassVar[tuple[Any, ...] | None] = None
    nullable: ClassVar[bool] = False  # with one_of/any_of: ``nullable: true`` beside them

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, declared in cls.fields.items():
            variants = ([declared.initial, *(f for _, f in declared.steps)]
                        if isinstance(declared, compat.ByVersion) else [declared])
            for field in variants:
                field.name = name
        cls._dump_plans: dict[tuple[int, ...], list[tuple[str, Any, Any, Field]]] = {}
        cls._current: dict[tuple[int, ...], dict[str, Field]] = {}

    @classmethod
    def current_fields(cls) -> dict[str, Field]:
        """The fields the emulated CVAT version declares (``ByVersion`` resolved)."""
        version = compat.current().version
        found = cls._current.get(version)
        if found is None:
            found = {name: compat.resolve(declared) for name, declared in cls.fields.items()}
            cls._current[version] = found
        return found

    @classmethod
    def _dump_plan(cls) -> list[tuple[str, Any, Any, Field]]:
        """(name, key or getter, converter or None, field) of the fields this version shows."""
        version = compat.current().version
        plan = cls._dump_plans.get(version)
        if plan is None:
            plan = [
                (name, field.source if callable(field.source) else (field.source or name),
                 field.to_representation
                 if type(field).to_representation is not Field.to_representation else None,
                 field)
                for name, field in cls.current_fields().items()
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
        token = _ROOT_PARTIAL.set(partial)
        try:
            return cls._validate(data, partial=partial, checks=checks)
        finally:
            _ROOT_PARTIAL.reset(token)

    @classmethod
    def _validate(cls, data: Any, *, partial: bool,
                  checks: Mapping[str, Callable[[Any], Any]] | None) -> dict[str, Any]:
        data = cls.prepare_input(data)
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
        for name, field in cls.current_fields().items():
            if field.read_only or not field.present() or (partial and field.write_once) or (
                    not partial and field.update_only):
                continue
            if name not in data:
                if partial:
                    continue
                if field.required:
                    errors[name] = [field.required_message]
                elif field.has_default():
                    result[name] = field.get_default()
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
    def prepare_input(cls, data: Any) -> Any:
        """The raw input, rewritten before any check (see the module docstring)."""
        return data

    @classmethod
    def validate_object(cls, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        """Cross-field checks (DRF's ``Serializer.validate``); override when needed."""
        return data

    @classmethod
    def dump(cls, obj: Any) -> dict[str, Any] | None:
        if obj is None:
            return None
        mapping = type(obj) is dict or isinstance(obj, Mapping)
        missing = ABSENT if cls.omit_missing else None
        out: dict[str, Any] = {}
        for name, source, convert, field in cls._dump_plan():
            if callable(source):
                value = source(obj)
            else:
                value = obj.get(source, missing) if mapping else getattr(obj, source, missing)
            if value is ABSENT:
                value = field.missing_value()
                if value is ABSENT:
                    continue
            out[name] = convert(value) if convert is not None and value is not None else value
        return out

    @classmethod
    def schema_fields(cls, *, request: bool, partial: bool = False) -> list[tuple[str, Field]]:
        """The fields the ``X``/``XRequest``/``PatchedXRequest`` component shows."""
        return [
            (name, field) for name, field in cls.current_fields().items()
            if field.present()
            and not (request and (field.read_only or (partial and field.write_once)
                                  or (not partial and field.update_only)))
            and not (not request and field.write_only)
        ]

    @classmethod
    def openapi(cls, *, request: bool = False, partial: bool = False) -> dict[str, Any]:
        props: dict[str, Any] = {}
        required: list[str] = []
        for name, field in cls.schema_fields(request=request, partial=partial):
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
    def nested(cls) -> Iterator[Field]:
        """Every field, depth-first (list children too), for collecting referenced components."""
        for field in cls.current_fields().values():
            yield from _walk(field)


def _walk(field: Field) -> Iterator[Field]:
    yield field
    if isinstance(field, ListField | DictField):
        yield from _walk(field.child)
