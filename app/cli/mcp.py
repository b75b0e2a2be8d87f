"""``hearth mcp``: the MCP servers in ``mcp.json`` (Claude Desktop's format).

    hearth mcp ls [--json] [--no-start]      servers, their state and their tools
    hearth mcp add NAME -- COMMAND [ARG...]  a server Hearth starts (stdio)
    hearth mcp add NAME --url URL            a server already running on this machine
    hearth mcp import FILE                   every server of a Claude Desktop / LM Studio
                                             / Jan mcp.json ('-' reads stdin)
    hearth mcp rm NAME
    hearth mcp test NAME [--json]            start it, list its tools, show its stderr
                                             when it fails

Exit status: 0 when it worked (for ``ls``: every server started, or ``--no-start``);
1 when a server failed to start or answer (its stderr tail is printed), the file or an
argument is wrong, or there is no such server; 2 for a command line argparse refuses.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from app.core.errors import ConfigError, McpError

EXIT_OK = 0
EXIT_FAILED = 1


def add_mcp_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``mcp`` and its actions."""
    mcp = sub.add_parser(
        "mcp",
        help="MCP servers whose tools the model may use (mcp.json, Claude Desktop's format)",
        description=(__doc__ or "").replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = mcp.add_subparsers(dest="mcp_command", metavar="ACTION", required=True)
    ls = actions.add_parser("ls", help="list the servers and their tools (starts them)")
    ls.add_argument("--json", action="store_true", help="print one JSON object")
    ls.add_argument("--no-start", action="store_true", help="only read mcp.json")
    add = actions.add_parser(
        "add",
        help="add a server: NAME -- COMMAND [ARG...], or NAME --url URL",
        description="Add a server Hearth starts (NAME -- COMMAND ARG...) or one already "
        "running on this machine (NAME --url http://127.0.0.1:PORT/mcp).",
    )
    add.add_argument("name", metavar="NAME")
    _add_options(add)
    # argparse cannot take options after NAME together with a free command line, so the
    # rest is split at '--' and its options are read again by _add.
    add.add_argument("rest", nargs=argparse.REMAINDER, metavar="[--url URL] [-- COMMAND ARG...]")
    imp = actions.add_parser("import", help="add every server of an mcp.json ('-': stdin)")
    imp.add_argument("file", metavar="FILE")
    rm = actions.add_parser("rm", help="remove a server from mcp.json")
    rm.add_argument("name", metavar="NAME")
    test = actions.add_parser("test", help="start a server, list its tools, show its errors")
    test.add_argument("name", metavar="NAME")
    test.add_argument("--json", action="store_true", help="print one JSON object")


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="a local Streamable HTTP (or SSE) server's address")
    parser.add_argument("--sse", action="store_true", help="the URL speaks the older SSE transport")
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="set for the command"
    )
    parser.add_argument("--cwd", help="folder the command starts in")
    parser.add_argument("--replace", action="store_true", help="replace a server of that name")


def run_mcp(args: argparse.Namespace) -> int:
    """Run ``hearth mcp ACTION``; HearthErrors go up to the CLI's one-sentence handler."""
    from app.core.logsetup import setup_logging
    from app.core.paths import app_paths
    from app.tools.mcp.config import config_file

    paths = app_paths().ensure()
    setup_logging(paths, verbose=args.verbose)
    path = config_file(paths)
    action = args.mcp_command
    if action == "add":
        return _add(path, args)
    if action == "import":
        return _import(path, args.file)
    if action == "rm":
        from app.tools.mcp.config import remove_server

        remove_server(path, args.name)
        print(f"Removed the MCP server '{args.name}' from {path}.")
        return EXIT_OK
    if action == "test":
        return _test(path, args.name, as_json=args.json)
    return _ls(path, as_json=args.json, start=not args.no_start)


def _add(path: Any, args: argparse.Namespace) -> int:
    import shutil

    from app.tools.mcp.config import add_server, parse_server

    options, command = _split_rest(list(args.rest))
    if options:
        again = argparse.ArgumentParser(prog="hearth mcp add NAME", add_help=False)
        _add_options(again)
        try:
            args = again.parse_args(options, namespace=args)
        except SystemExit as exc:
            raise ConfigError(
                f"These options of 'hearth mcp add' cannot be read: {' '.join(options)}."
            ) from exc
    if bool(command) == bool(args.url):
        raise ConfigError(
            "Give either a command after '--' (hearth mcp add NAME -- npx -y SERVER) or "
            "--url http://127.0.0.1:PORT/mcp, not both and not neither."
        )
    entry: dict[str, Any]
    if args.url:
        entry = {"url": args.url, **({"type": "sse"} if args.sse else {})}
    else:
        entry = {"command": command[0], "args": command[1:], "env": _env(args.env)}
        if args.cwd:
            entry["cwd"] = args.cwd
    server = parse_server(args.name, entry)
    add_server(path, server, replace=args.replace)
    print(f"Added the MCP server '{server.name}' ({server.describe()}) to {path}.")
    if server.command and shutil.which(server.command) is None:
        print(
            f"hearth: note: '{server.command}' is not on PATH here; "
            f"'hearth mcp test {server.name}' will say whether it starts.",
            file=sys.stderr,
        )
    else:
        print(f"Try it with: hearth mcp test {server.name}")
    return EXIT_OK


def _split_rest(rest: list[str]) -> tuple[list[str], list[str]]:
    """``(options, command)`` from what follows NAME: the command comes after '--' (or is
    all of it when it starts with a word, not an option)."""
    if "--" in rest:
        cut = rest.index("--")
        return rest[:cut], rest[cut + 1 :]
    if rest and not rest[0].startswith("-"):
        return [], rest
    return rest, []


def _env(pairs: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--env {pair!r} is not KEY=VALUE; write it like --env API_KEY=abc.")
        env[key] = value
    return env


def _import(path: Any, file: str) -> int:
    from pathlib import Path

    from app.tools.mcp.config import merge_servers, parse_text

    if file == "-":
        text, source = sys.stdin.read(), "the pasted configuration"
    else:
        try:
            text, source = Path(file).read_text(encoding="utf-8"), file
        except OSError as exc:
            raise ConfigError(f"Cannot read {file} ({exc.strerror}); check the path.") from exc
    pasted = parse_text(text, source)
    for problem in pasted.problems:
        print(f"hearth: {problem}", file=sys.stderr)
    if not pasted.servers:
        raise ConfigError(f"{source} has no MCP server Hearth can use.")
    names = merge_servers(path, pasted)
    print(f"Added {', '.join(names)} to {path}.")
    return EXIT_OK


def _test(path: Any, name: str, *, as_json: bool) -> int:
    from app.tools.mcp.config import load_config
    from app.tools.mcp.manager import McpManager

    config = load_config(path)
    server = config.get(name)
    if server is None:
        problem = next((p for p in config.problems if f"'{name}'" in p), None)
        if problem:
            raise ConfigError(problem)
        known = ", ".join(s.name for s in config.servers) or "none"
        raise ConfigError(f"There is no MCP server named '{name}' in {path} (servers: {known}).")
    if server.disabled:
        raise ConfigError(
            f"MCP server '{name}' is disabled in {path}; remove its \"disabled\": true to use it."
        )
    with McpManager([server]) as manager:
        try:
            status = manager.test(name)
            failure: McpError | None = None
        except McpError as exc:
            status, failure = manager.status(name), exc
    if as_json:
        print(json.dumps(_status_json(status), indent=2, ensure_ascii=False))
    elif failure is None:
        print(f"MCP server '{name}' started and lists {_count(len(status.tools), 'tool')}:")
        _print_tools(status.tools)
    if failure is not None:
        print(f"hearth: {failure}", file=sys.stderr)
        _print_tail(failure.stderr_tail)
        return EXIT_FAILED
    return EXIT_OK


def _ls(path: Any, *, as_json: bool, start: bool) -> int:
    from app.tools.mcp.config import load_config
    from app.tools.mcp.manager import McpManager

    config = load_config(path)
    with McpManager(config.servers) as manager:
        statuses = manager.start_all() if start else manager.statuses()
    disabled = [s for s in config.servers if s.disabled]
    if as_json:
        print(
            json.dumps(
                {
                    "config": str(path),
                    "servers": [_status_json(s) for s in statuses],
                    "disabled": [s.name for s in disabled],
                    "problems": list(config.problems),
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        for problem in config.problems:
            print(f"hearth: {problem}", file=sys.stderr)
        if not config.servers:
            print(f"No MCP servers in {path}; add one with: hearth mcp add NAME -- COMMAND ARG...")
        for status in statuses:
            state: str = status.state
            if state == "running":
                state = f"running, {_count(len(status.tools), 'tool')}"
            print(f"{status.name}  ({status.config.describe()})  {state}")
            if status.error:
                print(f"  {status.error}")
                _print_tail(status.stderr_tail)
            _print_tools(status.tools)
        for server in disabled:
            print(f"{server.name}  ({server.describe()})  disabled in mcp.json")
    failed = start and any(s.state == "failed" for s in statuses)
    return EXIT_FAILED if failed else EXIT_OK


def _status_json(status: Any) -> dict[str, Any]:
    from app.tools.mcp.tools import tool_name

    config = status.config
    return {
        "name": status.name,
        "transport": config.transport,
        "command": config.command,
        "args": list(config.args),
        "url": config.url,
        "state": status.state,
        "error": status.error or None,
        "stderr_tail": status.stderr_tail or None,
        "tools": [
            {
                "name": t.name,
                "tool_name": tool_name(t.server, t.name),
                "description": t.description,
                "input_schema": t.input_schema,
            }
            for t in status.tools
        ],
    }


def _print_tools(tools: Any) -> None:
    from app.tools.mcp.tools import tool_name

    for tool in tools:
        summary = tool.description.strip().splitlines()[0] if tool.description.strip() else ""
        print(f"  {tool_name(tool.server, tool.name)}  {summary}".rstrip())


def _print_tail(tail: str) -> None:
    if tail:
        print("  its last error output:", file=sys.stderr)
        for line in tail.splitlines():
            print(f"  | {line}", file=sys.stderr)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
