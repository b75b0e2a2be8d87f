"""MCP servers the tests start as real subprocesses (see tests/tools/test_mcp_*.py)."""
