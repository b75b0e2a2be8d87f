"""Hearth's own tools: none reaches the network, each is off until the user enables it."""

from __future__ import annotations

from app.tools.tool import Tool


def builtin_tools() -> list[Tool]:
    """A fresh instance of every built-in tool."""
    from app.tools.builtin.calculator import calculator_tool
    from app.tools.builtin.clock import datetime_tool
    from app.tools.builtin.documents import search_documents_tool
    from app.tools.builtin.files import read_file_tool
    from app.tools.builtin.history import search_conversations_tool

    return [
        datetime_tool(),
        calculator_tool(),
        search_conversations_tool(),
        read_file_tool(),
        search_documents_tool(),
    ]
