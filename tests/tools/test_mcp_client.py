"""Hearth's MCP client on real servers (tests/tools/mcp_servers, real subprocesses, the
real SDK): list and call, a tool's error, a crash at start and during a call (stderr
tail, restart, the limit on restarts), hangs cut at their limits, a local HTTP server,
and the tools as Hearth tools."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from app.core.errors import McpError
from app.core.paths import app_paths
from app.tools.calls import ToolCall
from app.tools.mcp.client import McpLimits, StderrLog
from app.tools.mcp.config import (
    McpServerConfig,
    add_server,
    config_file,
    parse_text,
)
from app.tools.mcp.manager import McpManager
from app.tools.mcp.tools import open_mcp_tools, register_mcp_tools, tool_name
from app.tools.registry import ToolRegistry
from app.tools.runner import run_tool

SERVERS = Path(__file__).parent / "mcp_servers"
FAST = McpLimits(start_s=20.0, list_s=10.0, call_s=20.0, max_failures=3)


def stdio(name: str, script: str, *args: str, **env: str) -> McpServerConfig:
    return McpServerConfig(
        name, command=sys.executable, args=(str(SERVERS / script), *args), env=env
    )


def server_processes(script: str) -> list[psutil.Process]:
    """Running processes of one of the test servers, started by this test process."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            mine = any(script in part for part in child.cmdline())
            if mine and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.fixture
def manager() -> Iterator[McpManager]:
    with McpManager(limits=FAST) as mgr:
        yield mgr


def test_list_and_call_on_a_real_server(manager: McpManager) -> None:
    manager.configure([stdio("calc", "working.py")])
    tools = {t.name: t for t in manager.list_tools("calc")}
    assert set(tools) == {"add", "echo", "fail"}
    assert tools["add"].description == "Add two whole numbers."
    assert tools["add"].input_schema["properties"].keys() == {"a", "b"}
    assert set(tools["add"].input_schema["required"]) == {"a", "b"}
    result = manager.call_tool("calc", "add", {"a": 2, "b": 40})
    assert result.text == "42" and not result.is_error
    assert manager.call_tool("calc", "echo", {"text": "héllo"}).text == "héllo"
    status = manager.status("calc")
    assert status.state == "running" and status.starts == 1
    assert "working server ready" not in status.stderr_tail  # no failure, no tail kept


def test_a_tool_error_comes_back_as_an_error_result(manager: McpManager) -> None:
    manager.configure([stdio("calc", "working.py")])
    result = manager.call_tool("calc", "fail", {"reason": "disk full"})
    assert result.is_error and "disk full" in result.text
    unknown = manager.call_tool("calc", "nope", {})
    assert unknown.is_error and "nope" in unknown.text
    with pytest.raises(McpError, match="refused fail: the tool is locked"):
        manager.call_tool("calc", "fail", {"reason": "protocol"})
    assert manager.status("calc").state == "running"  # the server is fine


def test_a_crash_at_start_gives_the_stderr_tail(manager: McpManager) -> None:
    manager.configure([stdio("weather", "crash_at_start.py")])
    started = time.monotonic()
    with pytest.raises(McpError, match="stopped before it answered") as caught:
        manager.list_tools("weather")
    assert time.monotonic() - started < 10
    assert "WEATHER_API_KEY is not set" in caught.value.stderr_tail
    status = manager.status("weather")
    assert status.state == "failed" and "WEATHER_API_KEY" in status.stderr_tail


def test_a_missing_program_says_so(manager: McpManager) -> None:
    manager.configure([McpServerConfig("ghost", command="hearth-no-such-program-xyz")])
    with pytest.raises(McpError, match="'hearth-no-such-program-xyz' was not found"):
        manager.list_tools("ghost")


def test_a_crash_during_a_call_is_reported_and_the_server_restarts(
    manager: McpManager, tmp_path: Path
) -> None:
    counter = tmp_path / "starts"
    manager.configure([stdio("flaky", "crash_on_call.py", HEARTH_TEST_COUNTER=str(counter))])
    assert manager.call_tool("flaky", "ping", {}).text == "pong"
    with pytest.raises(McpError, match="stopped unexpectedly") as caught:
        manager.call_tool("flaky", "boom", {})
    assert "segfault in boom()" in caught.value.stderr_tail
    assert manager.status("flaky").state == "failed"
    # The next use starts it again.
    assert manager.call_tool("flaky", "ping", {}).text == "pong"
    assert counter.read_text() == "2"
    assert manager.status("flaky").state == "running"


def test_restarts_stop_after_the_limit_until_a_test(tmp_path: Path) -> None:
    counter = tmp_path / "starts"
    limits = McpLimits(start_s=20.0, list_s=10.0, call_s=20.0, max_failures=2)
    with McpManager(
        [stdio("flaky", "crash_on_call.py", HEARTH_TEST_COUNTER=str(counter))], limits
    ) as mgr:
        for _ in range(2):
            with pytest.raises(McpError, match="stopped unexpectedly"):
                mgr.call_tool("flaky", "boom", {})
        with pytest.raises(McpError, match="failed 2 times in a row") as caught:
            mgr.call_tool("flaky", "ping", {})
        assert "segfault" in caught.value.stderr_tail
        assert counter.read_text() == "2"  # refused without starting it a third time
        status = mgr.test("flaky")
        assert status.state == "running" and counter.read_text() == "3"
        assert mgr.call_tool("flaky", "ping", {}).text == "pong"


def test_a_server_that_hangs_at_start_is_cut_at_the_limit() -> None:
    limits = McpLimits(start_s=2.0, list_s=2.0, call_s=2.0)
    with McpManager([stdio("stuck", "hang.py", "start")], limits) as mgr:
        started = time.monotonic()
        with pytest.raises(McpError, match="did not answer within 2 s") as caught:
            mgr.list_tools("stuck")
        elapsed = time.monotonic() - started
        assert 2.0 <= elapsed < 3.5, elapsed
        assert "listening but never answering" in caught.value.stderr_tail
    assert not server_processes("hang.py")  # the SDK killed it when the manager closed


def test_a_call_that_hangs_is_cut_at_the_limit_and_the_server_restarts() -> None:
    limits = McpLimits(start_s=20.0, list_s=10.0, call_s=1.5)
    with McpManager([stdio("slow", "hang.py", "call")], limits) as mgr:
        assert [t.name for t in mgr.list_tools("slow")] == ["wait"]
        started = time.monotonic()
        with pytest.raises(McpError, match=r"did not finish wait within 1\.5 s"):
            mgr.call_tool("slow", "wait", {})
        elapsed = time.monotonic() - started
        assert 1.5 <= elapsed < 3.0, elapsed  # the limit, plus room for a loaded machine
        assert mgr.status("slow").state == "failed"
        assert [t.name for t in mgr.list_tools("slow")] == ["wait"]  # started again
        assert mgr.status("slow").starts == 2
        deadline = time.monotonic() + 10
        while len(server_processes("hang.py")) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(server_processes("hang.py")) == 1  # the hung one was killed
    assert not server_processes("hang.py")


def test_close_stops_every_server() -> None:
    mgr = McpManager([stdio("a", "working.py"), stdio("b", "working.py")], FAST)
    statuses = mgr.start_all()
    assert [s.state for s in statuses] == ["running", "running"]
    assert len(server_processes("working.py")) == 2
    started = time.monotonic()
    mgr.close()
    assert time.monotonic() - started < FAST.stop_s
    assert not server_processes("working.py")
    with pytest.raises(McpError, match="shut down"):
        mgr.list_tools("a")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(transport: str) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(SERVERS / "working.py"), f"--{transport}", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def http_server() -> Iterator[str]:
    for port in serve("http"):
        yield f"http://127.0.0.1:{port}/mcp"


@pytest.fixture
def sse_server() -> Iterator[str]:
    for port in serve("sse"):
        yield f"http://127.0.0.1:{port}/sse"


def test_a_local_http_server_by_url(manager: McpManager, http_server: str) -> None:
    manager.configure([McpServerConfig("web", url=http_server)])
    assert {t.name for t in manager.list_tools("web")} == {"add", "echo", "fail"}
    assert manager.call_tool("web", "add", {"a": 1, "b": 2}).text == "3"


def test_a_local_sse_server_by_url(manager: McpManager, sse_server: str) -> None:
    manager.configure(parse_text(json.dumps({"mcpServers": {"old": {"url": sse_server}}})).servers)
    assert manager.status("old").config.transport == "sse"
    assert manager.call_tool("old", "echo", {"text": "over SSE"}).text == "over SSE"


def test_an_unreachable_url_says_so(manager: McpManager) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    manager.configure([McpServerConfig("down", url=url)])
    with pytest.raises(McpError, match=f"at {url} could not be reached"):
        manager.list_tools("down")


def test_tools_are_name_spaced_and_ask_by_default(manager: McpManager) -> None:
    manager.configure([stdio("calc", "working.py"), stdio("calc.two", "working.py")])
    registry = ToolRegistry()
    names = register_mcp_tools(registry, manager)
    assert sorted(names) == [
        "calc__add",
        "calc__echo",
        "calc__fail",
        "calc_two__add",
        "calc_two__echo",
        "calc_two__fail",
    ]
    add = registry.get("calc_two__add")
    assert add is not None and add.source == "mcp:calc.two"
    assert registry.permission("calc_two__add") == "ask"
    assert add.parameters["type"] == "object"
    registry.set_enabled("calc_two__add", True)
    assert registry.to_openai()[0]["function"]["name"] == "calc_two__add"

    call = ToolCall.make("calc_two__add", {"a": 20, "b": 22})
    result = run_tool(add, call, registry.context(), timeout_s=add.timeout_s)
    assert result.ok and result.text == "42"
    failing = registry.get("calc__fail")
    assert failing is not None
    result = run_tool(
        failing, ToolCall.make("calc__fail", {"reason": "no way"}), registry.context()
    )
    assert not result.ok and "fail on MCP server 'calc' failed" in result.text
    assert "no way" in result.text
    refused = run_tool(add, ToolCall.make("calc_two__add", {"a": "x"}), registry.context())
    assert not refused.ok and "schema" in refused.text  # checked before the server sees it

    # A server gone from the configuration takes its tools with it.
    manager.configure([stdio("calc", "working.py")])
    assert len(register_mcp_tools(registry, manager)) == 3
    assert registry.get("calc_two__add") is None
    assert tool_name("srv", "read.file/v2") == "srv__read_file_v2"


def test_stopping_a_call_returns_at_once() -> None:
    limits = McpLimits(start_s=20.0, list_s=10.0, call_s=30.0)
    with McpManager([stdio("slow", "hang.py", "call")], limits) as mgr:
        mgr.list_tools("slow")
        stop = threading.Event()
        threading.Timer(0.5, stop.set).start()
        started = time.monotonic()
        with pytest.raises(McpError, match="stopped"):
            mgr.call_tool("slow", "wait", {}, cancel=stop)
        assert time.monotonic() - started < 2.0


def test_open_mcp_tools_from_the_users_file(hearth_home: Path) -> None:
    paths = app_paths().ensure()
    add_server(config_file(paths), stdio("calc", "working.py"))
    add_server(config_file(paths), stdio("weather", "crash_at_start.py"))
    registry = ToolRegistry()
    manager = open_mcp_tools(paths, registry)
    try:
        assert [t.name for t in registry.tools()] == ["calc__add", "calc__echo", "calc__fail"]
        assert manager.status("weather").state == "failed"
        # A call whose server dies: the result the model and the card get quotes its stderr.
        # A server added to mcp.json (by Preferences, by hearth mcp add) is picked up
        # without waiting: it starts in the background, its tools come on a later call.
        add_server(config_file(paths), stdio("flaky", "crash_on_call.py"))
        deadline = time.monotonic() + 20
        while "flaky__boom" not in register_mcp_tools(registry, manager, start=False):
            assert time.monotonic() < deadline, manager.status("flaky")
            time.sleep(0.05)
        boom = registry.get("flaky__boom")
        assert boom is not None
        result = run_tool(boom, ToolCall.make("flaky__boom", {}), registry.context())
        assert not result.ok
        assert "stopped unexpectedly" in result.text
        assert "Its last error output: start 1 / segfault in boom(): core dumped" in result.text
    finally:
        manager.close()


def test_a_chatty_servers_stderr_file_stays_small(tmp_path: Path) -> None:
    log = StderrLog(tmp_path / "srv.stderr.txt")
    with log.fresh() as server_side:  # written at its own offset, as the server's fd is
        server_side.write("noise\n" * 200_000)
        server_side.flush()
        log.trim()
        server_side.write("the last words\n")
        server_side.flush()
    assert log.tail() == "the last words"
    assert log.path.stat().st_blocks * 512 < 100_000  # the gap takes no disk
