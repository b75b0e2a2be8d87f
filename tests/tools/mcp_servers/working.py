"""A working MCP server, written with the SDK's MCPServer (mcp 2's name for FastMCP).

stdio by default; ``--http PORT`` serves Streamable HTTP on 127.0.0.1:PORT/mcp instead,
``--sse PORT`` the older SSE transport on 127.0.0.1:PORT/sse.
"""

from __future__ import annotations

import sys

from mcp import MCPError
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("hearth-test-working")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Repeat the text given."""
    return text


@server.tool()
def fail(reason: str) -> str:
    """Always fails with the reason given (a tool error, the server keeps running)."""
    if reason == "protocol":  # a JSON-RPC error instead of an error result
        raise MCPError(code=-32602, message="the tool is locked")
    raise ToolError(reason)


if __name__ == "__main__":
    print("working server ready", file=sys.stderr, flush=True)
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--sse":
        server.run("sse", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
