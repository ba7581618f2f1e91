"""The ``mockcvat`` command: ``serve`` and ``schema {dump,diff,check}``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mockcvat.settings import OPTIONS, Settings, check_version, env_name, from_env

REFERENCE_SCHEMA = Path("openapi/cvat-openapi-2.26.2.yml")
REFERENCE_VERSION = "2.26.2"


def _serve_parser(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser(
        "serve",
        help="run a fake CVAT server",
        description="Run a fake CVAT server. Every option can also be set with the "
        "environment variable shown in brackets.",
    )
    defaults = Settings()
    for name, text in OPTIONS.items():
        default = getattr(defaults, name)
        serve.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            default=None,
            help=f"{text} [{env_name(name)}] (default: {default})",
        )


def _schema_parser(sub: argparse._SubParsersAction) -> None:
    schema = sub.add_parser("schema", help="this server's OpenAPI schema and its diff with CVAT's")
    actions = schema.add_subparsers(dest="action", required=True)
    dump = actions.add_parser("dump", help="print the schema (YAML) of an emulated version")
    dump.add_argument("--cvat-version", default=REFERENCE_VERSION)
    dump.add_argument("--output", "-o", help="write to this file instead of stdout")
    diff = actions.add_parser(
        "diff", help="diff our schema against the real CVAT schema or a cvat-sdk package",
        description="Per operation: same, different (with each difference), extra (ours only) "
        "or missing (not implemented). Exits 1 if an implemented operation differs.")
    diff.add_argument("--against", choices=("schema", "cvat-sdk"), default="schema",
                      help="'schema' (default): the OpenAPI file --reference; 'cvat-sdk': the "
                      "cvat-sdk package importable by --sdk-python, compared with our schema "
                      "for the SDK's version")
    diff.add_argument("--reference", default=str(REFERENCE_SCHEMA),
                      help="the real schema (default: %(default)s)")
    diff.add_argument("--sdk-python", default=sys.executable,
                      help="the interpreter whose cvat-sdk is read (default: this one)")
    diff.add_argument("--cvat-version", default=None,
                      help=f"the emulated version to diff (default: {REFERENCE_VERSION}, or the "
                      "cvat-sdk's version)")
    diff.add_argument("--brief", action="store_true", help="list operations only")
    coverage = actions.add_parser(
        "coverage", help="the checklist of CVAT's operations mockcvat implements (COVERAGE.md)"
    )
    coverage.add_argument("--reference", default=str(REFERENCE_SCHEMA))
    coverage.add_argument("--output", "-o", help="write to this file instead of stdout")
    check = actions.add_parser(
        "check", help="fail if the committed schema or COVERAGE.md is stale"
    )
    check.add_argument("--schema", default=f"openapi/mockcvat-{REFERENCE_VERSION}.yml")
    check.add_argument("--coverage", default="COVERAGE.md")
    check.add_argument("--reference", default=str(REFERENCE_SCHEMA))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mockcvat", description="A stateful fake of the CVAT server, for tests."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    _schema_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return schema(args)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from mockcvat.app import create_app

    try:
        settings = from_env(**{name: getattr(args, name) for name in OPTIONS})
    except ValueError as exc:
        print(f"mockcvat: {exc}", file=sys.stderr)
        return 2
    if settings.workers > 1:
        return _serve_workers(settings)
    app = create_app(settings)
    print(
        f"mockcvat: CVAT {settings.cvat_version} on http://{settings.host}:{settings.port} "
        f"(admin: {settings.admin}, data: {settings.data_dir})",
        flush=True,
    )
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                    access_log=False)
    finally:
        app.state.mock.close()
    return 0


def _serve_workers(settings: Settings) -> int:
    """``--workers N``: uvicorn's supervisor starts N processes, each building its app from
    the same settings (passed on as ``MOCKCVAT_*`` variables) on the shared database."""
    import dataclasses
    import os

    import uvicorn

    for field in dataclasses.fields(Settings):
        value = getattr(settings, field.name)
        if field.name in OPTIONS and value is not None:
            os.environ[env_name(field.name)] = str(value)
    print(
        f"mockcvat: CVAT {settings.cvat_version} on http://{settings.host}:{settings.port} "
        f"({settings.workers} workers, admin: {settings.admin}, "
        f"database: {_redacted(settings.resolved_database_url)})",
        flush=True,
    )
    uvicorn.run("mockcvat.app:create_app", factory=True, host=settings.host,
                port=settings.port, workers=settings.workers, log_level="warning",
                access_log=False, timeout_graceful_shutdown=30)
    return 0


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def schema(args: argparse.Namespace) -> int:
    from mockcvat import schema_diff
    from mockcvat.app import schema_document, schema_yaml

    version = getattr(args, "cvat_version", None)
    if version is not None:
        try:
            check_version(version)
        except ValueError as exc:
            print(f"mockcvat: {exc}", file=sys.stderr)
            return 2
    if args.action == "dump":
        _write(schema_yaml(args.cvat_version), args.output)
        return 0
    if args.action == "diff":
        if args.against == "cvat-sdk":
            reference = schema_diff.read_sdk(args.sdk_python)
            version = args.cvat_version or reference["version"]
            print(f"mockcvat emulating {version} against cvat-sdk {reference['version']}")
            results = schema_diff.diff_sdk(
                schema_diff.sdk_view(schema_document(version)), reference)
        else:
            results = schema_diff.diff(schema_document(args.cvat_version or REFERENCE_VERSION),
                                       schema_diff.load(args.reference))
        print(schema_diff.report(results, verbose=not args.brief))
        return 1 if any(r.status == "different" for r in results) else 0
    if args.action == "coverage":
        _write(_coverage(args.reference), args.output)
        return 0
    stale = []
    for path, current in ((Path(args.schema), schema_yaml(REFERENCE_VERSION)),
                          (Path(args.coverage), _coverage(args.reference))):
        if not path.exists() or path.read_text() != current:
            stale.append(str(path))
    if stale:
        print(f"stale: {', '.join(stale)}; run `make schema` and commit", file=sys.stderr)
        return 1
    print("the committed schema and COVERAGE.md are up to date")
    return 0


def _coverage(reference: str) -> str:
    from mockcvat import schema_diff
    from mockcvat.app import schema_document

    results = schema_diff.diff(schema_document(REFERENCE_VERSION), schema_diff.load(reference))
    sdk = schema_diff.read_sdk(sys.executable)  # the cvat-sdk of the test extras (2.80)
    sdk_results = schema_diff.diff_sdk(schema_diff.sdk_view(schema_document(sdk["version"])),
                                       sdk)
    return schema_diff.coverage(results, REFERENCE_VERSION, sdk_results, sdk["version"])


def _write(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    raise SystemExit(main())
