"""An MCP server that lists its tools, then dies in the middle of a call to ``boom``.

Each start writes ``start N`` to stderr (N counts the starts through the file named by
``HEARTH_TEST_COUNTER``), so a test can see that a crashed server was started again.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mcp.server.mcpserver import MCPServer

server = MCPServer("hearth-test-crash-on-call")


@server.tool()
def boom() -> str:
    """Crash the server."""
    print("segfault in boom(): core dumped", file=sys.stderr, flush=True)
    os._exit(11)


@server.tool()
def ping() -> str:
    """Answer pong."""
    return "pong"


if __name__ == "__main__":
    counter = os.environ.get("HEARTH_TEST_COUNTER")
    starts = 1
    if counter:
        path = Path(counter)
        starts = int(path.read_text() or "0") + 1 if path.exists() else 1
        path.write_text(str(starts))
    print(f"start {starts}", file=sys.stderr, flush=True)
    server.run()
