"""Server-version emulation: the facts that differ between CVAT releases, in one place.

The emulated version (``--cvat-version``) decides which operations exist (``Operation.since``/
``until``), which serializer fields are present (``Field(since=...)``), and the few payloads
that changed shape. The current request's version is held in a context variable, set by the
operation endpoint and by the schema builder, so serializers can consult it without threading
it through every call.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from mockcvat.settings import DEFAULT_CVAT_VERSION, parse_version

if TYPE_CHECKING:
    from mockcvat.api import Operation

# First releases with a behaviour (see docs/versions.md for the sources).
ABOUT_LOGO_SUBTITLE = "2.30.0"  # About gains logo_url and subtitle
CSRF_HEADER_AUTH = "2.41.0"  # the schema documents X-CSRFToken (csrfHeaderAuth) beside the cookie
NO_SIGNATURE_AUTH = "2.46.0"  # ?sign= URLs and /api/auth/signing removed (cvat-sdk 2.46)
ACCESS_TOKENS = "2.48.0"  # personal access tokens, Authorization: Bearer
SHORT_PLUGINS = "2.59.0"  # Plugins reduced to {"ANALYTICS", "MODELS"}
# PR 9075 (2.32.0): finished exports are downloaded from ``…/{dataset,backup}/download?rq_id=``
# (a private endpoint, not in the schema) and kept until their TTL; the legacy GET export
# endpoints (``…/dataset``, ``…/backup``, ``…/annotations?format=``) are gone
EXPORT_DOWNLOAD_ENDPOINT = "2.32.0"
# PR 9230 (2.38.0): the remaining legacy import/status forms go (``rq_id`` on imports, PUT
# annotations with a file, ``GET /api/projects/{id}/dataset``)
NO_LEGACY_IMPORTS = "2.38.0"
# PR 9528 (cvat-sdk 2.44): tasks and projects move between organizations (PATCH
# ``organization_id``); their read models show ``organization_id``, tasks
# ``data_cloud_storage_id``
TRANSFERS = "2.44.0"
# cvat-sdk 2.59: ``TaskRead.project_name``; ``JobRead.task_name``, ``project_name`` and
# ``replicas_count``
RESOURCE_NAMES = "2.59.0"
# cvat-sdk 2.65: ``media_type`` of tasks and jobs (``image``, ``point_cloud``, ``audio``: the
# kind of their frames) and the ``1d`` dimension (audio) in the list filters
MEDIA_TYPES = "2.65.0"
# cvat-sdk 2.65 also: attributes can be deleted through their label, ``import_mode`` on
# annotation imports, ``image_quality`` optional (audio), invitations show ``accepted`` and
# filter by it and by ``user_id``, requests filter by ``org_id``, access tokens by ``read_only``
RELEASE_2_65 = "2.65.0"
# cvat-sdk 2.67: previews take ``Prefer: handling=empty`` (RFC 7240): without media a preview is
# a default placeholder image (200), or 204 with that preference (before: a plain-text 404);
# an organization's ``contact`` is any JSON value, or null
PREVIEW_PREFERENCES = "2.67.0"
# cvat-sdk 2.75/2.76/2.79: the user's profile shows how the account was created, whether its
# e-mail is verified (``has_analytics_access`` becomes nullable), then the onboarding answers
USER_CREATED_VIA = "2.75.0"
USER_EMAIL_VERIFIED = "2.76.0"
USER_QUESTIONNAIRE = "2.79.0"
# cvat-sdk 2.80 also: ``users_retrieve`` documents the org context parameters
RELEASE_2_80 = "2.80.0"
# cvat-sdk 2.56/2.57: shapes carry a ``score`` (read-only, then writable)
SHAPE_SCORES = "2.56.0"
SHAPE_SCORES_WRITABLE = "2.57.0"
# cvat-sdk 2.66: ``intervals`` in annotations (``LabeledInterval``) and the ``interval`` label type
INTERVALS = "2.66.0"
# cvat-sdk 2.44: the registration form's e-mail (254) and names (150) show their lengths
REGISTER_LENGTHS = "2.44.0"
# cvat-sdk 2.63: new passwords are 8..256 characters in the serializers (before: at most 128,
# dj-rest-auth's; the old password of a change loses its limit)
PASSWORD_LENGTHS = "2.63.0"
# cvat-sdk 2.44: ``lightweight`` backups (``…/backup/export?lightweight=``: no media of tasks
# whose data lives in a cloud storage) and the request's ``operation.lightweight``
LIGHTWEIGHT_BACKUPS = "2.44.0"
# ProviderTypeEnum loses GOOGLE_DRIVE (never implemented by CVAT): cvat-sdk 2.49
NO_GOOGLE_DRIVE = "2.49.0"
ASSET_FORM_GUIDE_ID = "2.38.0"  # POST /api/assets documents guide_id (required) beside file
GROWTH = "2.74.0"  # /api/growth (the growth app: GitHub star prompt state per user)
# a lambda function id in a URL starts with a letter or digit (cvat-sdk 2.75's path pattern;
# before: any of [a-zA-Z0-9_.-])
FUNCTION_ID_START = "2.75.0"
# Quality control and consensus (docs/versions.md, each the first cvat-sdk that shows it): the
# consensus API and its merge requests (with a ``quorum`` setting until 2.56); quality settings
# holding *requirements*, report summaries of frames and jobs, project reports, the
# confusion-matrix endpoints, conflicts without warnings.
CONSENSUS_API = "2.31.0"
CONSENSUS_QUORUM_GONE = "2.56.0"
QUALITY_BOUNDS = "2.31.0"  # the settings' thresholds are documented (and checked) in [0, 1]
PROJECT_QUALITY = "2.37.0"  # project settings and reports, inherit, job_filter, job/task counts
QUALITY_REPORT_CSV = "2.55.0"  # GET …/reports/{id}/data?format=csv|json (a file)
QUALITY_REQUIREMENTS = "2.74.0"
QUALITY_METRICS = "2.75.0"  # requirement metrics beyond accuracy/precision/recall
# read from the cvat-sdk packages: the job type ``consensus_replica`` is ``replica``, tasks show
# ``initial_replicas`` instead of ``consensus_enabled`` and jobs lose ``consensus_replicas``
# first in cvat-sdk 2.80 (tests/test_sdk_releases.py)
REPLICA_JOB_TYPE = "2.80.0"

_current: contextvars.ContextVar[Compat] = contextvars.ContextVar("mockcvat_compat")
T = TypeVar("T")


class Compat:
    def __init__(self, version: str) -> None:
        self.version_text = version
        self.version = parse_version(version)

    def has(self, since: str | None = None, until: str | None = None) -> bool:
        if since and self.version < parse_version(since):
            return False
        if until and self.version >= parse_version(until):
            return False
        return True

    # --- security ---------------------------------------------------------------------
    def security_schemes(self) -> dict[str, Any]:
        schemes: dict[str, Any] = {
            "basicAuth": {"type": "http", "scheme": "basic"},
            "csrfAuth": {
                "type": "apiKey",
                "in": "cookie",
                "name": "csrftoken",
                "description": "Can be sent as a cookie or as the X-CSRFTOKEN header",
            },
            "sessionAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
            "tokenAuth": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "Legacy API key: 'Authorization: Token <key>' "
                "(the key returned by /api/auth/login)",
                "x-token-prefix": "Token",
            },
        }
        if self.has(until=NO_SIGNATURE_AUTH):
            schemes["signatureAuth"] = {
                "type": "apiKey",
                "in": "query",
                "name": "sign",
                "description": "Can be used to share URLs to private links",
            }
        if self.has(since=ACCESS_TOKENS):
            schemes["accessTokenAuth"] = {"type": "http", "scheme": "bearer"}
        if self.has(since=CSRF_HEADER_AUTH):
            schemes["csrfHeaderAuth"] = {
                "type": "apiKey",
                "in": "header",
                "name": "X-CSRFToken",
            }
        return dict(sorted(schemes.items()))

    def security(self, *, public: bool, operation: Operation) -> list[dict[str, Any]]:
        """The operation's ``security`` list: what its view authenticates with."""
        if not operation.authenticate:
            return [{}]
        if operation.authenticate == "bearer":
            return [{"accessTokenAuth": []}]
        items: list[dict[str, Any]] = [{"sessionAuth": [], "csrfAuth": [], "tokenAuth": []}]
        if self.has(since=CSRF_HEADER_AUTH):
            items[0]["csrfHeaderAuth"] = []
        if self.has(since=ACCESS_TOKENS) and operation.access_tokens:
            items.insert(0, {"accessTokenAuth": []})
        if self.has(until=NO_SIGNATURE_AUTH):
            items.append({"signatureAuth": []})
        items.append({"basicAuth": []})
        if public:
            items.append({})
        return items


class ByVersion(Generic[T]):
    """A value that changed between CVAT releases: ``initial``, then each ``(version, value)``
    step (oldest first) from that version on; ``current()`` is the emulated version's."""

    def __init__(self, initial: T, *steps: tuple[str, T]) -> None:
        self.initial = initial
        self.steps = steps

    def current(self) -> T:
        value = self.initial
        for version, step in self.steps:
            if current().has(since=version):
                value = step
        return value

    def map(self, fn: Any) -> ByVersion[Any]:
        """The same steps, each value passed through ``fn``."""
        return ByVersion(fn(self.initial), *((version, fn(value)) for version, value in self.steps))

    def periods(self) -> list[tuple[str | None, str | None, T]]:
        """``(since, until, value)`` for each period (``None``: unbounded)."""
        starts: list[str | None] = [None, *(v for v, _ in self.steps)]
        values = [self.initial, *(value for _, value in self.steps)]
        ends = [*starts[1:], None]
        return list(zip(starts, ends, values, strict=True))


def resolve(value: Any) -> Any:
    """``value``, or the emulated version's value of a ``ByVersion``."""
    return value.current() if isinstance(value, ByVersion) else value


def current() -> Compat:
    try:
        return _current.get()
    except LookupError:
        return Compat(DEFAULT_CVAT_VERSION)


@contextmanager
def emulating(compat_: Compat) -> Iterator[Compat]:
    token = _current.set(compat_)
    try:
        yield compat_
    finally:
        _current.reset(token)
