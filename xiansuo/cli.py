"""The `xiansuo` command: serve the API (ingest, users and audit join as they land)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from common.logs import configure_logging
from common.settings import Settings

Command = Callable[[argparse.Namespace, Settings], int]


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from search_api.app import create_app

    host = args.host or settings.api_host
    port = args.port or settings.api_port
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; each sub-command stores its handler in ``handler``."""
    parser = argparse.ArgumentParser(prog="xiansuo", description="线索 — governed registry search")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", help="bind address (default XIANSUO_API_HOST)")
    serve.add_argument("--port", type=int, help="port (default XIANSUO_API_PORT)")
    serve.set_defaults(handler=_serve)
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
    return handler(args, settings)
