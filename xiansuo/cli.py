"""The `xiansuo` command: serve, ingest, the graph build, accounts, the query log, the sealed store
and the SQL store's schema."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from common.logs import configure_logging
from common.settings import Settings
from migrations.errors import StoreSchemaError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from graph.build import BuildReport
    from indexer.reports import FileReport
    from watching.after_ingest import WatchReport

Command = Callable[[argparse.Namespace, Settings], int]
COMMAND_LINE_ACTOR = "command-line"  # the actor of the entries the account commands write


DEVELOPMENT_KEY_WARNING = """\
**********************************************************************************
* xiansuo serve: RUNNING WITH THE PUBLISHED DEVELOPMENT SECRET KEY.              *
* Anyone who has read this repository can mint tokens for this server.           *
* Never expose it beyond your own machine; set XIANSUO_SECRET_KEY_FILE instead.  *
**********************************************************************************"""


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import structlog
    import uvicorn

    from search_api.app import create_app

    if settings.uses_development_secret:
        if not settings.development_declared:
            print(
                "xiansuo serve: refusing to start with the published development secret key: "
                "set XIANSUO_SECRET_KEY_FILE (or XIANSUO_SECRET_KEY), or set "
                "XIANSUO_ENVIRONMENT=development explicitly to accept it on a private machine",
                file=sys.stderr,
            )
            return 2
        print(DEVELOPMENT_KEY_WARNING, file=sys.stderr)
        structlog.get_logger(__name__).warning("serve.development_secret_key")
    host = args.host or settings.api_host
    port = args.port or settings.api_port
    # Forwarded headers are handled by the app itself, from XIANSUO_TRUSTED_PROXIES only:
    # uvicorn's own default would believe them from any loopback client.
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )
    return 0


def _secret_file(args: argparse.Namespace, _settings: Settings) -> int:
    """Create a random secret key file (mode 0600); an existing file is kept as it is."""
    from common.settings import generate_secret_file

    generate_secret_file(Path(args.path))
    return 0


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.context import ingest_context, rejects_dir_for
    from indexer.pipeline import ingest_drop
    from indexer.readers import DropError

    drop = Path(args.path)
    if not drop.is_dir():
        print(f"xiansuo ingest: {drop} is not a drop folder", file=sys.stderr)
        return 2
    rejects = Path(args.rejects_dir) if args.rejects_dir else rejects_dir_for(settings, drop)
    try:
        if args.queue:
            from indexer.tasks import QueuedIngestError, run_queued_ingest

            try:
                report = run_queued_ingest(settings, drop, rejects, reload=args.reload)
            except QueuedIngestError as exc:
                print(f"xiansuo ingest: {exc}", file=sys.stderr)
                return 1
        else:
            progress = _progress_printer() if sys.stderr.isatty() and not args.json else None
            with ingest_context(settings, rejects, progress) as ctx:
                report = ingest_drop(drop, ctx, reload=args.reload)
    except DropError as exc:
        print(f"xiansuo ingest: {exc}", file=sys.stderr)
        return 2
    for failed in report.failures():
        print(
            f"xiansuo ingest: {failed.source} FAILED on {failed.file} "
            f"({failed.failed} rows not ingested): {failed.error}; re-run the ingest to finish",
            file=sys.stderr,
        )
    # The edges index follows the sources it is read from: rebuilt after every ingest (the
    # indexer cannot call the graph pass itself: indexer and graph may not import each other).
    graph = None if args.no_graph else _run_graph_build(settings)
    # Watch lists (布控) follow the records the run created or changed (docs/watch.md).
    watch = None if args.no_watch else run_watch_step(settings, report.files)
    if args.json:
        out = report.to_json() | ({"graph": graph.to_json()} if graph is not None else {})
        out |= {"watch": watch.to_json()} if watch is not None else {}
        print(json.dumps(out, ensure_ascii=False))
    else:
        for source, totals in report.by_source().items():
            print(
                f"{source:16} " + "  ".join(f"{k}={v}" for k, v in totals.items() if v is not None)
            )
        for name in report.unknown_files:
            print(f"not a known source, skipped: {name}")
        print(f"elapsed {report.elapsed_s:.1f}s")
        if graph is not None:
            print(f"graph: {graph.edges:,} edges in {graph.index} ({graph.elapsed_s:.1f}s)")
        if watch is not None:
            print(f"watch: {watch.record_notices} record and {watch.clue_notices} clue "
                  f"notifications, {watch.reruns} standing re-runs")  # fmt: skip
    for error in watch.errors if watch is not None else []:
        print(f"xiansuo ingest: watch step: {error}", file=sys.stderr)
    watched = watch is None or not watch.errors
    return 0 if report.ok and (graph is None or graph.failed == 0) and watched else 1


def _progress_printer() -> Callable[[str, int], None]:
    def show(file: str, rows: int) -> None:
        print(f"\r{file}: {rows:,} rows", end="", file=sys.stderr, flush=True)

    return show


def _account_command(
    settings: Settings,
    verb: str,
    asked: dict[str, object],
    change: Callable[[Engine], str],
    codes: dict[str, object] | None = None,
) -> int:
    """Run one account change from the command line, logged before (intent) and after (done).

    The recorder's envelope is the command line: actor ``command-line``, route ``xiansuo users
    <verb>``, no address. What was asked is pseudonymised like any request (it is logged before
    anything validates it); ``codes`` (a jurisdiction, validated once the change is made) are
    logged as they are in the second entry."""
    from common.db import create_db_engine
    from common.errors import DomainError
    from migrations.store import prepare_store
    from query_logs.audit import (
        AuditKind,
        AuditLog,
        AuditOutcome,
        Envelope,
        Recorder,
    )
    from search_api.recording import protector

    engine = create_db_engine(settings.effective_database_url)
    try:
        prepare_store(engine)
        envelope = Envelope(actor=COMMAND_LINE_ACTOR, route=f"xiansuo users {verb}")
        recorder = Recorder(AuditLog(engine), envelope, protector(settings))
        # write-ahead: logged before the account changes
        recorder.intent(
            AuditKind.USER_CHANGE, detail=asked | {"step": "intent"}, outcome=AuditOutcome.OK
        )
        line = change(engine)
        recorder.done(AuditKind.USER_CHANGE, detail=asked | {"step": "done"}, facts=codes)
    except DomainError as exc:
        print(f"xiansuo users {verb}: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(line)
    return 0


def _users_add(args: argparse.Namespace, settings: Settings) -> int:
    from accounts.cli import read_new_password, run_users_add
    from common.errors import DomainError

    try:
        password = read_new_password(args.password_stdin, sys.stdin)
    except DomainError as exc:
        print(f"xiansuo users add: {exc.detail}", file=sys.stderr)
        return 1
    asked: dict[str, object] = {"target": args.name, "roles": sorted(args.role)}
    return _account_command(
        settings,
        "add",
        asked | {"region": args.region},
        lambda engine: run_users_add(engine, args.name, args.role, args.region, password),
        codes={"region": args.region},
    )


def _users_change(args: argparse.Namespace, settings: Settings) -> int:
    """disable / enable / unlock / password for any account, officers included (logged)."""
    from accounts.cli import read_new_password
    from accounts.users import disable_user, enable_user, set_password, unlock_user

    def change(engine: Engine) -> str:
        if args.users == "password":
            set_password(engine, args.name, read_new_password(args.password_stdin, sys.stdin))
        else:
            actions = {"disable": disable_user, "enable": enable_user, "unlock": unlock_user}
            actions[args.users](engine, args.name)
        return f"{args.users}: {args.name}"

    return _account_command(settings, args.users, {"target": args.name}, change)


def _audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    from common.db import create_db_engine
    from query_logs.audit import load_public_key, public_key_path, verify_log

    key_file = Path(args.public_key) if args.public_key else None
    if key_file is None:
        signing = (
            settings.audit_signing_key_file or settings.state_dir / "keys" / "audit-signing.pem"
        )
        key_file = public_key_path(signing)
    engine = create_db_engine(settings.effective_database_url)
    try:
        report = verify_log(engine, load_public_key(key_file))
    finally:
        engine.dispose()
    print(
        json.dumps({k: getattr(report, k) for k in report.__dataclass_fields__}, ensure_ascii=False)
    )
    return 0 if report.ok else 1


def _sealed(args: argparse.Namespace, settings: Settings) -> int:
    """rotate-key / check / reconcile: the sealed complainant store's maintenance."""
    from dataclasses import asdict

    from indexer.context import run_key_rotation, run_sealed_check, run_sealed_reconcile
    from indexer.sealed_keys import SealedKeyError

    try:
        if args.sealed == "rotate-key":
            print(json.dumps(asdict(run_key_rotation(settings))))
            return 0
        if args.sealed == "reconcile":
            print(json.dumps(asdict(run_sealed_reconcile(settings))))
            return 0
        check = run_sealed_check(settings)
    except SealedKeyError as exc:
        print(f"xiansuo sealed {args.sealed}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(check) | {"consistent": check.consistent}, ensure_ascii=False))
    return 0 if check.consistent else 1


def _run_graph_build(settings: Settings) -> BuildReport:
    from common.db import create_db_engine
    from graph.build import run_graph_build
    from migrations.store import prepare_store

    store = create_db_engine(settings.effective_database_url)
    try:
        prepare_store(store)  # the analysts' match decisions are read from it
        return run_graph_build(settings, store)
    finally:
        store.dispose()


def run_watch_step(settings: Settings, files: Sequence[FileReport]) -> WatchReport:
    """Notify watchers and re-run standing runs for the records the ingest changed
    (watching.after_ingest): the command line writes the log entries, as the owner of each
    watch under its application. Not run when nothing changed."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from sqlalchemy.exc import SQLAlchemyError

    from common.db import create_db_engine
    from common.errors import DomainError
    from comparison.definitions import shipped_catalogue
    from indexer.reports import changed_by_source
    from migrations.store import prepare_store
    from query_logs.audit import AuditLog, Envelope, Recorder
    from registry.engine import EngineDoor
    from search_api.queries.comparison import run_filters
    from search_api.recording import protector
    from watching.after_ingest import WatchReport, WatchStep, notify_after_ingest

    changed = changed_by_source(files)
    if not changed:
        return WatchReport()
    store = create_db_engine(settings.effective_database_url)
    try:
        prepare_store(store)
        envelope = Envelope(actor=COMMAND_LINE_ACTOR, route="xiansuo ingest")
        recorder = Recorder(AuditLog(store), envelope, protector(settings))
        today = datetime.now(ZoneInfo(settings.review_timezone)).date()
        with EngineDoor.for_ingest(settings) as door:
            step = WatchStep(store, door, recorder, run_filters, shipped_catalogue(),
                             lambda: datetime.now(UTC), today)  # fmt: skip
            return notify_after_ingest(step, changed)
    except (DomainError, SQLAlchemyError) as exc:  # the store or the log: the ingest stands
        return WatchReport(errors=[f"not completed: {type(exc).__name__}"])
    finally:
        store.dispose()


def _db(args: argparse.Namespace, settings: Settings) -> int:
    """upgrade / current: the SQL store's schema revision (migrations/; docs/deploy.md)."""
    from common.db import create_db_engine
    from migrations.store import current_revision, head_revision, upgrade_store

    engine = create_db_engine(settings.effective_database_url)
    try:
        before = current_revision(engine)
        if args.db == "upgrade":
            upgrade_store(engine)
        current = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    report = {"before": before, "current": current, "head": head}
    print(json.dumps(report if args.db == "upgrade" else {"current": current, "head": head}))
    return 0 if current == head else 1


def _graph_build(args: argparse.Namespace, settings: Settings) -> int:
    """Rebuild the edges index from the source indices (`xiansuo ingest` runs it too)."""
    report = _run_graph_build(settings)
    print(json.dumps(report.to_json(), ensure_ascii=False))
    return 0 if report.failed == 0 else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; each sub-command stores its handler in ``handler``."""
    parser = argparse.ArgumentParser(prog="xiansuo", description="线索 — governed registry search")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", help="bind address (default XIANSUO_API_HOST)")
    serve.add_argument("--port", type=int, help="port (default XIANSUO_API_PORT)")
    serve.set_defaults(handler=_serve)

    secret = commands.add_parser(
        "secret-file", help="create a random secret key file (0600) if it does not exist"
    )
    secret.add_argument("path", help="where to write it (XIANSUO_SECRET_KEY_FILE)")
    secret.set_defaults(handler=_secret_file)

    ingest = commands.add_parser("ingest", help="index a drop folder of registry exports")
    ingest.add_argument("path", help="the drop folder")
    ingest.add_argument("--json", action="store_true", help="print one JSON report")
    ingest.add_argument("--queue", action="store_true", help="run as Celery tasks and wait")
    ingest.add_argument("--reload", action="store_true", help="rebuild each index, swap aliases")
    ingest.add_argument("--rejects-dir", help="where rejects go (default: state dir)")
    ingest.add_argument(
        "--no-graph", action="store_true", help="skip rebuilding the edges index afterwards"
    )
    ingest.add_argument(
        "--no-watch", action="store_true", help="skip the watch lists' notifications afterwards"
    )
    ingest.set_defaults(handler=_ingest)

    users = commands.add_parser("users", help="accounts").add_subparsers(
        dest="users", required=True
    )
    add = users.add_parser("add", help="create an account (officer accounts only here)")
    add.add_argument("name")
    add.add_argument("--role", action="append", required=True, help="repeat for several roles")
    add.add_argument("--region", required=True, help="jurisdiction: 行政区划代码 prefix")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(handler=_users_add)
    for action, text in (
        ("disable", "disable an account"),
        ("enable", "enable an account"),
        ("unlock", "end a lockout"),
        ("password", "set a new password"),
    ):
        change = users.add_parser(action, help=f"{text} (officer accounts are maintained here)")
        change.add_argument("name")
        if action == "password":
            change.add_argument("--password-stdin", action="store_true")
        change.set_defaults(handler=_users_change)

    db = commands.add_parser("db", help="the SQL store's schema").add_subparsers(
        dest="db", required=True
    )
    for action, text in (
        ("upgrade", "run the migrations up to the code's schema (one transaction)"),
        ("current", "print the store's and the code's revisions (exit 1 if they differ)"),
    ):
        db.add_parser(action, help=text).set_defaults(handler=_db)

    graph = commands.add_parser("graph", help="the relationship graph").add_subparsers(
        dest="graph", required=True
    )
    graph.add_parser("build", help="rebuild the edges index from the source indices").set_defaults(
        handler=_graph_build
    )

    sealed = commands.add_parser("sealed", help="the sealed complainant store").add_subparsers(
        dest="sealed", required=True
    )
    for action, text in (
        ("rotate-key", "re-encrypt every value under a new key, then retire the old key"),
        ("check", "compare the sealed rows with the petition index (exit 1 if they differ)"),
        ("reconcile", "settle what an interrupted ingest left, against the petition index"),
    ):
        sealed.add_parser(action, help=text).set_defaults(handler=_sealed)

    audit = commands.add_parser("audit", help="the query log").add_subparsers(
        dest="audit", required=True
    )
    verify = audit.add_parser("verify", help="check the hash chain and signed checkpoints")
    verify.add_argument("--public-key", help="PEM public key (default: beside the signing key)")
    verify.set_defaults(handler=_audit_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, load settings and logging once, run one command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValueError as exc:
        print(f"xiansuo: invalid configuration: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    handler: Command = args.handler
    try:
        return handler(args, settings)
    except StoreSchemaError as exc:  # a store behind the code, or an upgrade that was refused
        print(f"xiansuo {args.command}: {exc}", file=sys.stderr)
        return 1
