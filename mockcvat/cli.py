"""The ``mockcvat`` command: ``serve``, ``dump``, ``snapshot`` and ``schema {dump,diff,check}``.

A setting that cannot work (``mockcvat.settings.SettingsError``) or a seed that cannot be read
(``mockcvat.seeding.SeedError``) ends the command with one line on stderr, naming the setting
and the fix, and exit status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mockcvat.settings import (
    DEFAULT_CVAT_VERSION,
    OPTIONS,
    Settings,
    SettingsError,
    check_version,
    env_name,
    flag,
    from_env,
)

REFERENCE_SCHEMA = Path("openapi/cvat-openapi-2.26.2.yml")
REFERENCE_VERSION = "2.26.2"
USAGE_ERROR = 2
# the settings `mockcvat dump` reads: where the state is and how to render it
STATE_OPTIONS = ("data_dir", "database_url", "media_url", "media_endpoint", "cvat_version",
                 "host", "port")


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    from mockcvat import __version__

    try:
        mine = installed("mockcvat")
    except PackageNotFoundError:
        mine = __version__
    return f"mockcvat {mine} (emulates CVAT 2.26.2 to 2.80.0; default {DEFAULT_CVAT_VERSION})"


def _add_options(parser: argparse.ArgumentParser, names: tuple[str, ...] | None = None) -> None:
    defaults = Settings()
    for name, text in OPTIONS.items():
        if names is not None and name not in names:
            continue
        parser.add_argument(flag(name), dest=name, default=None,
                            help=f"{text} [{env_name(name)}] (default: {getattr(defaults, name)})")


def _serve_parser(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser(
        "serve",
        help="run a fake CVAT server",
        description="Run a fake CVAT server. Every option can also be set with the "
        "environment variable shown in brackets.",
    )
    _add_options(serve)


def _seed_parsers(sub: argparse._SubParsersAction) -> None:
    dump = sub.add_parser(
        "dump", help="write the state of a data dir as a seed directory",
        description="Write the state a `mockcvat serve` keeps in its data dir (users, "
        "organizations, memberships, projects, tasks with their media, labels, jobs, "
        "annotations) as JSON files in the shapes of CVAT's list endpoints, for --seed. "
        "Reads without changing anything (a server may be running on it).")
    dump.add_argument("directory", type=Path, help="where to write (files are replaced)")
    dump.add_argument("--no-media", dest="media", action="store_false",
                      help="leave out the tasks' media files")
    dump.add_argument("--base-url", help="the start of the `url` fields "
                      "(default: http://HOST:PORT of the settings)")
    _add_options(dump, STATE_OPTIONS)
    snap = sub.add_parser(
        "snapshot", help="read a CVAT server through its API into a seed directory",
        description="Read a CVAT server (real, or another mockcvat) through its REST API into "
        "a seed directory for --seed. Users come without passwords (add \"password\" to "
        "the ones you log in as). Give an admin's credentials to read everything.")
    snap.add_argument("directory", type=Path, help="where to write (files are replaced)")
    snap.add_argument("--from", dest="url", required=True, help="the server, e.g. "
                      "https://cvat.example.com")
    auth = snap.add_mutually_exclusive_group(required=True)
    auth.add_argument("--auth", help="USER:PASSWORD (logs in once, then uses the token)")
    auth.add_argument("--token", help="an API key (Authorization: Token ...)")
    auth.add_argument("--access-token", help="a personal access token (CVAT 2.48+)")
    snap.add_argument("--media", action="store_true",
                      help="also download each task's files (through a task backup)")
    snap.add_argument("--page-size", type=int, default=100)


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
    parser.add_argument("--version", action="version", version=version())
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    _seed_parsers(sub)
    _schema_parser(sub)
    args = parser.parse_args(argv)
    from mockcvat.seeding import SeedError

    try:
        if args.command == "serve":
            return serve(args)
        if args.command == "dump":
            return dump(args)
        if args.command == "snapshot":
            return snapshot(args)
        return schema(args)
    except SettingsError as exc:
        print(f"mockcvat: error: {exc}", file=sys.stderr)
    except SeedError as exc:
        prefix = f"{flag('seed')} ({env_name('seed')}): " if args.command == "serve" else ""
        print(f"mockcvat: error: {prefix}{exc}", file=sys.stderr)
    return USAGE_ERROR


def _settings(args: argparse.Namespace, names: tuple[str, ...] | None = None) -> Settings:
    return from_env(**{name: getattr(args, name, None) for name in (names or tuple(OPTIONS))})


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from mockcvat import logs
    from mockcvat.app import create_app
    from mockcvat.settings import listen

    settings = _settings(args).check()
    logs.configure(settings.log_level, settings.log_format)
    if settings.workers > 1:
        return _serve_workers(settings)
    sock = listen(settings.host, settings.port)  # a port in use fails here, before the banner
    try:
        app = create_app(settings)
    except BaseException:
        sock.close()
        raise
    port = sock.getsockname()[1]
    print(
        f"mockcvat: CVAT {settings.cvat_version} on http://{settings.host}:{port} "
        f"(admin: {settings.admin}, data: {settings.data_dir})",
        flush=True,
    )
    config = uvicorn.Config(app, log_level=settings.log_level, access_log=False,
                            log_config=None, lifespan="off")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        app.state.mock.close()
    return 0


def dump(args: argparse.Namespace) -> int:
    from mockcvat import seeding
    from mockcvat.server import MockCVAT

    settings = _settings(args, STATE_OPTIONS).check()
    mock = MockCVAT(settings, readonly=True)
    try:
        seeding.dump_mock(mock, args.directory, media=args.media, base_url=args.base_url)
    finally:
        mock.close()
    counts = seeding.counts(args.directory)
    print(f"mockcvat: wrote {args.directory}: " + ", ".join(
        f"{count} {file.removesuffix('.json')}" for file, count in counts.items()))
    return 0


def snapshot(args: argparse.Namespace) -> int:
    import httpx

    from mockcvat import seeding

    headers = {"Accept": "application/vnd.cvat+json"}
    with httpx.Client(base_url=args.url.rstrip("/"), headers=headers, timeout=60,
                      follow_redirects=True) as client:
        if args.auth:
            user, sep, password = args.auth.partition(":")
            if not sep:
                print("mockcvat: error: --auth: write it as USER:PASSWORD", file=sys.stderr)
                return USAGE_ERROR
            try:
                login = client.post("/api/auth/login",
                                    json={"username": user, "password": password})
            except httpx.HTTPError as exc:
                print(f"mockcvat: error: --from: cannot reach {args.url} ({exc})",
                      file=sys.stderr)
                return USAGE_ERROR
            if login.status_code != 200:
                print(f"mockcvat: error: --auth: login failed ({login.status_code} "
                      f"{login.text[:200]})", file=sys.stderr)
                return USAGE_ERROR
            client.cookies.clear()
            client.headers["Authorization"] = f"Token {login.json()['key']}"
        elif args.token:
            client.headers["Authorization"] = f"Token {args.token}"
        else:
            client.headers["Authorization"] = f"Bearer {args.access_token}"
        try:
            counts = seeding.snapshot(client, args.directory, media=args.media,
                                      page_size=args.page_size)
        except httpx.HTTPError as exc:
            print(f"mockcvat: error: --from: {args.url}: {exc}", file=sys.stderr)
            return USAGE_ERROR
    print(f"mockcvat: wrote {args.directory}: " + ", ".join(
        f"{count} {file.removesuffix('.json')}" for file, count in counts.items()))
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
