"""`hubspot-activity`: ask the warehouse a named question, or serve the questions over MCP.

    hubspot-activity ask timeline --user 12345 --since 7d
    hubspot-activity ask failed-logins --since 24h --format json
    hubspot-activity ask evidence-summary --month october --demo
    hubspot-activity questions          # what can be asked
    hubspot-activity mcp [--demo]       # an MCP server over stdio
    hubspot-activity mcp --http 8765    # or streamable HTTP on 127.0.0.1:8765/mcp

The warehouse: DBT_POSTGRES_* falling back to TARGET_POSTGRES_* (as the dbt profile),
or --demo for the demo's embedded one. Anything that goes wrong is one line on stderr
and exit status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import sys
import typing as t

from hubspot_activity_investigate import EXTRA
from hubspot_activity_investigate.errors import InvestigationError
from hubspot_activity_investigate.params import HELP

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from hubspot_activity_investigate.settings import Settings

PROG = "hubspot-activity"
# The option for each parameter, where it differs from --<name with dashes>.
OPTIONS = {"types": ("--types", "--type"), "detections": ("--detections", "--detection")}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 1, like every other error."""

    def error(self, message: str) -> t.NoReturn:
        self.exit(1, f"{PROG}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The command line: ask <question>, questions, mcp."""
    from hubspot_activity_investigate.catalog import QUESTIONS  # noqa: PLC0415 - needs psycopg

    parser = _Parser(prog=PROG, description=__doc__.split("\n")[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    ask = commands.add_parser("ask", help="ask one question")
    questions = ask.add_subparsers(dest="question", required=True, parser_class=_Parser)
    for question in QUESTIONS.values():
        sub = questions.add_parser(
            question.name, help=question.summary, description=question.summary
        )
        for name in question.params:
            flags = OPTIONS.get(name, (f"--{name.replace('_', '-')}",))
            sub.add_argument(
                *flags, dest=name, metavar=name.split("_")[-1].upper(), help=HELP[name]
            )
        sub.add_argument("--limit", help=HELP["limit"])
        sub.add_argument("--format", choices=("table", "json", "csv"), default="table")
        _demo_flag(sub)
    commands.add_parser("questions", help="list the questions")
    mcp = commands.add_parser("mcp", help="serve the questions as MCP tools over stdio")
    mcp.add_argument(
        "--http",
        type=int,
        metavar="PORT",
        help="serve streamable HTTP on 127.0.0.1:PORT (path /mcp) instead of stdio",
    )
    _demo_flag(mcp)
    return parser


def _demo_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--demo",
        action="store_true",
        help="use the demo's embedded warehouse (.demo/, after make demo), started for the "
        "question and stopped after unless it was running",
    )


@contextlib.contextmanager
def _warehouse(*, demo: bool) -> Iterator[Settings]:
    from hubspot_activity_investigate import settings  # noqa: PLC0415 - needs psycopg

    if demo:
        from hubspot_activity_investigate.demo_warehouse import demo_settings  # noqa: PLC0415

        with demo_settings(os.environ) as found:
            yield found
    else:
        yield settings.from_env(os.environ)


def _ask(args: argparse.Namespace, names: t.Iterable[str]) -> str:
    from hubspot_activity_investigate.layer import ask  # noqa: PLC0415 - needs psycopg
    from hubspot_activity_investigate.render import render  # noqa: PLC0415

    raw = {name: getattr(args, name, None) for name in (*names, "limit")}
    with _warehouse(demo=args.demo) as found:
        return render(ask(args.question, raw, found), args.format)


def _serve(*, demo: bool, http_port: int | None) -> None:
    from hubspot_activity_investigate.mcp_server import serve  # noqa: PLC0415 - needs mcp

    try:
        with _warehouse(demo=demo) as found:
            serve(lambda: found, http_port)
    except InvestigationError as exc:
        # Serve anyway: each tool call answers with why there is no warehouse.
        problem = str(exc)

        def missing() -> Settings:
            raise InvestigationError(problem)

        serve(missing, http_port)


def _missing_extra(command: str | None) -> str | None:
    needed = ("psycopg", "mcp") if command == "mcp" else ("psycopg",)
    if all(importlib.util.find_spec(name) for name in needed):
        return None
    return f"{PROG} needs the investigate extra: pip install '{EXTRA}'"


def main(argv: list[str] | None = None) -> int:
    """Run the command; errors are one line on stderr and exit status 1."""
    argv = sys.argv[1:] if argv is None else argv
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    if missing := _missing_extra(command):
        print(missing, file=sys.stderr)  # noqa: T201
        return 1
    from hubspot_activity_investigate.catalog import QUESTIONS  # noqa: PLC0415

    args = build_parser().parse_args(argv)
    try:
        if args.command == "questions":
            for question in QUESTIONS.values():
                print(f"{question.name:20} {question.summary}")  # noqa: T201
        elif args.command == "mcp":
            _serve(demo=args.demo, http_port=args.http)
        else:
            print(_ask(args, QUESTIONS[args.question].params))  # noqa: T201
    except InvestigationError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        print(f"{PROG}: unexpected error ({type(exc).__name__})", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
