"""The whole round trip with an MCP tool on the real starter model: the model is offered
an MCP server's tools, is forced (by a grammar from the tool's schema) to call
``calc__add``, the call runs on the real MCP server through the registry's runner, and
the result goes back for the answer. The model is too small to choose tools, so the
checks are properties: the arguments fit the schema and the result is their sum."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from app.core.generation import GenerationParams, Message
from app.engine import protocol as p
from app.engine.client import EngineClient
from app.tools.forced import calls_from_forced, forced_call_schema
from app.tools.mcp.config import McpServerConfig
from app.tools.mcp.manager import McpManager
from app.tools.mcp.tools import register_mcp_tools
from app.tools.registry import ToolRegistry
from app.tools.runner import run_tool

pytestmark = pytest.mark.slow

SERVERS = Path(__file__).parent / "mcp_servers"
TIMEOUT = 120


@pytest.fixture
def registry() -> Iterator[ToolRegistry]:
    server = McpServerConfig("calc", command=sys.executable, args=(str(SERVERS / "working.py"),))
    with McpManager([server]) as manager:
        tools = ToolRegistry()
        register_mcp_tools(tools, manager)
        for name in ("calc__add", "calc__echo"):
            tools.set_enabled(name, True)
        yield tools


def test_the_model_calls_an_mcp_tool_and_answers_with_its_result(
    engine: EngineClient, smol_model: Path, registry: ToolRegistry
) -> None:
    loaded = engine.load(str(smol_model), n_ctx=2048).wait(TIMEOUT)
    assert isinstance(loaded, p.ModelLoaded)
    offered = registry.to_openai()
    assert {t["function"]["name"] for t in offered} == {"calc__add", "calc__echo"}
    ask: list[Message] = [{"role": "user", "content": "What is 19 plus 23?"}]
    named = {"type": "function", "function": {"name": "calc__add"}}
    params = GenerationParams(
        tools=json.dumps(offered),
        json_schema=forced_call_schema(offered, named, False),
        max_tokens=120,
        temperature=0.0,
    )
    done = engine.generate(ask, params).wait(TIMEOUT)
    assert isinstance(done, p.GenerationDone)
    (call,) = calls_from_forced(done.text)
    assert call.name == "calc__add"
    tool = registry.get("calc__add")
    assert tool is not None
    jsonschema.validate(call.arguments, tool.parameters)

    result = run_tool(tool, call, registry.context())
    assert result.ok, result.text
    assert result.text == str(call.arguments["a"] + call.arguments["b"])

    follow: list[Message] = [
        *ask,
        {"role": "assistant", "content": "", "tool_calls": [call.to_openai()]},
        {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": result.text},
    ]
    answer = engine.generate(
        follow, GenerationParams(tools=json.dumps(offered), max_tokens=32, temperature=0.0)
    ).wait(TIMEOUT)
    assert isinstance(answer, p.GenerationDone)
    assert answer.text.strip()  # an answer after the tool's result (its words vary by CPU)
