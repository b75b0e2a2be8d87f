"""Hearth as an MCP client: servers from ``mcp.json`` (config), one connection per server
with the official ``mcp`` SDK (client), a synchronous manager on a private event loop
(manager), and their tools as Hearth tools (tools)."""
