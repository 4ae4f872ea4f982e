"""``gradtrace serve`` and ``gradtrace export``; ``python -m gradtrace`` is the same.

Flags of ``serve`` are generated from :class:`gradtrace.service.Settings`, so every
flag has a ``GRADTRACE_*`` twin and the same help text as the docs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from gradtrace import __version__
from gradtrace.core.errors import GradtraceError
from gradtrace.export.formats import FORMATS, Format, format_for_path, render
from gradtrace.service.settings import Settings, describe_options

EPILOG = "Every serve option can also be set with the GRADTRACE_<NAME> environment variable shown."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradtrace", description="See PyTorch autograd.")
    parser.add_argument("--version", action="version", version=f"gradtrace {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the web app and the REST API", epilog=EPILOG)
    _add_settings_flags(serve)
    export = commands.add_parser("export", help="trace a program and write its graph to a file")
    _add_export_flags(export)
    return parser


def _add_settings_flags(parser: argparse.ArgumentParser) -> None:
    rows = {row["name"]: row for row in describe_options()}
    for f in fields(Settings):
        row = rows[f.name]
        help_text = f"{row['help']} [{row['env']}, default {row['default']}]"
        if f.metadata["parse"] is bool or f.metadata["parse"].__name__ == "_parse_bool":
            parser.add_argument(row["flag"], dest=f.name, action=argparse.BooleanOptionalAction,
                                default=None, help=help_text)
        else:
            parser.add_argument(row["flag"], dest=f.name, type=f.metadata["parse"], default=None,
                                metavar=f.name.upper(), help=help_text)


def _add_export_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("program", help="the program text, '-' to read it from stdin, or @file.py")
    parser.add_argument("-o", "--out", help="output file; the format follows its extension "
                        "(.json .dot .graphml .node-link.json); default: JSON on stdout")
    parser.add_argument("-f", "--format", choices=sorted(FORMATS), help="format, overriding the extension")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--output", dest="output_name", help="variable to draw the graph of")
    parser.add_argument("--no-backward", dest="backward", action="store_false", help="skip backward")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lang", choices=["en", "ko"], default="en", help="language of error messages")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return _export(args)


def _serve(args: argparse.Namespace) -> int:
    values = {f.name: getattr(args, f.name) for f in fields(Settings)}
    try:
        settings = Settings.load(**values)
    except ValueError as exc:
        print(f"gradtrace: {exc}", file=sys.stderr)
        return 2
    from gradtrace.api.server import serve

    return serve(settings)


def _read_program(text: str) -> str:
    if text == "-":
        return sys.stdin.read()
    if text.startswith("@"):
        return Path(text[1:]).read_text(encoding="utf-8")
    return text


def _export(args: argparse.Namespace) -> int:
    fmt = FORMATS[args.format] if args.format else format_for_path(args.out or "")
    try:
        source = _read_program(args.program)
    except OSError as exc:
        print(f"gradtrace: {exc}", file=sys.stderr)
        return 2
    try:
        data = _render(source, fmt, args)
    except GradtraceError as exc:
        print(_describe(exc, args.lang), file=sys.stderr)
        return 1
    if args.out:
        Path(args.out).write_bytes(data)
        print(f"wrote {args.out} ({fmt.name}, {len(data)} bytes)", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data + (b"" if data.endswith(b"\n") else b"\n"))
    return 0


def _render(source: str, fmt: Format, args: argparse.Namespace) -> bytes:
    """Trace in this process (your own machine, your own program) and serialise."""
    from gradtrace.pipeline import trace_source

    graph = trace_source(source, device=args.device, output=args.output_name, backward=args.backward,
                         seed=args.seed)
    return render(graph, fmt.name)


def _describe(exc: GradtraceError, lang: str) -> str:
    info = exc.to_dict(lang)
    where = f" at line {info['line']}, column {info['col']}" if info["line"] else ""
    text = f"error ({info['type']}){where}: {info['message']}"
    return text + (f"\nhint: {info['hint']}" if info["hint"] else "")
