"""An MCP server that hangs: ``start`` never answers the handshake (it reads stdin and
says nothing); ``call`` lists its tools but never finishes a call to ``wait``."""

from __future__ import annotations

import sys
import time

from mcp.server.mcpserver import MCPServer

server = MCPServer("hearth-test-hang")


@server.tool()
def wait() -> str:
    """Never returns (blocks the server's event loop, as a stuck server would)."""
    print("wait: stuck on a lock", file=sys.stderr, flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    if sys.argv[1:] == ["start"]:
        print("hang: listening but never answering", file=sys.stderr, flush=True)
        for _line in sys.stdin:  # keeps reading, never writes
            pass
        time.sleep(3600)  # stdin closed: still does not exit (the SDK must kill it)
    server.run()
