"""The built-in tools on real files, a real conversation database and the real clock
code: every answer and every refusal, run through run_tool as the loop runs them."""

from __future__ import annotations

import math
import os
import socket
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import ToolError
from app.storage import ConversationStore
from app.tools.builtin import builtin_tools
from app.tools.builtin.calculator import MAX_BITS, evaluate
from app.tools.builtin.files import MAX_FILE_BYTES
from app.tools.calls import ToolCall
from app.tools.registry import Tool, ToolContext
from app.tools.runner import ToolResult, run_tool

TOOLS = {t.name: t for t in builtin_tools()}


def run(name: str, context: ToolContext | None = None, **arguments: Any) -> ToolResult:
    tool: Tool = TOOLS[name]
    return run_tool(tool, ToolCall.make(name, arguments), context or ToolContext())


# -- date and time ---------------------------------------------------------------------


def test_datetime_gives_the_local_date_time_weekday_and_zone() -> None:
    fixed = datetime(2026, 11, 29, 17, 5, 9, tzinfo=timezone(timedelta(hours=1), "CET"))
    result = run("current_datetime", ToolContext(now=lambda: fixed))
    assert result.text == "2026-11-29 17:05:09, Sunday; time zone CET (UTC+01:00)"


def test_datetime_on_the_real_clock_is_now() -> None:
    result = run("current_datetime")
    stamp = datetime.strptime(result.text[:19], "%Y-%m-%d %H:%M:%S")
    assert abs((stamp - datetime.now()).total_seconds()) < 5
    assert run("current_datetime", unexpected=1).status == "refused"


# -- calculator ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "answer"),
    [
        ("1 + 2 * 3", "7"),
        ("(1 + 2) * 3", "9"),
        ("7 / 2", "3.5"),
        ("7 // 2", "3"),
        ("-7 % 3", "2"),
        ("2 ** 10", "1024"),
        ("2 ^ 10", "1024"),
        ("6 × 7 ÷ 2", "21"),
        ("sqrt(2)", format(math.sqrt(2), ".15g")),
        ("round(pi, 4)", "3.1416"),
        ("log2(8)", "3"),
        ("log(100, 10)", "2"),
        ("factorial(20)", "2432902008176640000"),
        ("2 ** -1", "0.5"),
        ("1_000 * 3", "3000"),
        ("0.1 + 0.2", "0.3"),
        ("2 ** 4000", str(2**4000)),
    ],
)
def test_calculator_answers(expression: str, answer: str) -> None:
    result = run("calculator", expression=expression)
    assert (result.ok, result.text) == (True, answer)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("__import__('os').system('true')", "only these functions"),
        ("open('/etc/passwd')", "only these functions"),
        ("(1).__class__", "Attribute is not allowed"),
        ("x + 1", "unknown name 'x'"),
        ("'a' * 3", "'a' is not a number"),
        ("[1, 2]", "List is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("True + 1", "True is not a number"),
        ("1j * 2", "is not a number"),
        ("1 if 1 else 2", "IfExp is not allowed"),
        ("1 < 2", "Compare is not allowed"),
        ("1 << 5000", "the operator LShift is not allowed"),
        ("sqrt(x=4)", "only these functions"),
        ("1 / 0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("9 ** 9 ** 9", f"more than {MAX_BITS} bits"),
        ("2 ** 5000", f"more than {MAX_BITS} bits"),
        ("10.0 ** 400", "too large"),
        ("exp(1000)", "too large"),
        ("(-8) ** 0.5", "not a real number"),
        ("sqrt(-1)", "sqrt cannot take these values"),
        ("factorial(1000)", "from 0 to 450"),
        ("factorial(2.5)", "whole number"),
        ("1 +", "is not an arithmetic expression"),
        ("", "empty"),
        ("1+" * 60 + "1", "more than 100 parts"),
    ],
)
def test_calculator_refusals(expression: str, reason: str) -> None:
    with pytest.raises(ToolError) as caught:
        evaluate(expression)
    assert reason in str(caught.value)
    if len(expression) <= 200 and expression:
        result = run("calculator", expression=expression)
        assert not result.ok and result.status == "error" and reason in result.text


def test_calculator_refuses_long_expressions_before_parsing() -> None:
    result = run("calculator", expression="1" * 201)
    assert result.status == "refused" and "is too long" in result.text
    with pytest.raises(ToolError, match="longer than 200"):
        evaluate("1" * 201)


def test_calculator_multiplication_of_big_numbers_is_bounded() -> None:
    with pytest.raises(ToolError, match="bits"):
        evaluate("2 ** 4000 * 2 ** 4000")


# -- search my conversations -----------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> ConversationStore:
    store = ConversationStore(tmp_path / "c.sqlite3")
    trip = store.create_conversation()
    store.add_message(trip.id, "user", "Plan a walk to the lighthouse at Dunmore")
    store.add_message(trip.id, "assistant", "Start at the harbour; the lighthouse is 4 km.")
    other = store.create_conversation()
    store.add_message(other.id, "user", "A recipe for saffron buns")
    return store


def test_search_finds_messages_of_other_conversations(store: ConversationStore) -> None:
    current = store.create_conversation()
    store.add_message(current.id, "user", "what did I ask about the lighthouse?")
    context = ToolContext(store=store, conversation_id=current.id)
    result = run("search_conversations", context, query="lighthouse")
    assert result.ok
    lines = result.text.splitlines()
    assert lines[0] == "2 messages found:"
    assert all(t.startswith("- In “Plan a walk") and "lighthouse" in t for t in lines[1:])
    assert {t.split("(")[1].split(")")[0] for t in lines[1:]} == {"user", "assistant"}
    assert "what did I ask" not in result.text  # the question itself is left out
    result = run("search_conversations", context, query="lighthouse", limit=1)
    assert result.text.startswith("1 messages found:")
    assert run("search_conversations", context, query="zeppelin").text == (
        "No other conversation mentions 'zeppelin'."
    )
    store.close()


def test_search_refusals(store: ConversationStore) -> None:
    assert run("search_conversations", ToolContext(), query="x").text == (
        "Error: the conversation history is not open here."
    )
    context = ToolContext(store=store)
    assert run("search_conversations", context, query="").status == "refused"
    assert run("search_conversations", context, query="   ").text == "Error: the query is empty."
    assert run("search_conversations", context, query="a", limit="3").status == "refused"
    store.close()


# -- read a file -----------------------------------------------------------------------


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """An allowed folder with files, and a private folder beside it."""
    allowed, private = tmp_path / "notes", tmp_path / "private"
    (allowed / "sub").mkdir(parents=True)
    private.mkdir()
    (allowed / "todo.txt").write_text("buy milk\nfix the bike\n", encoding="utf-8")
    (allowed / "sub" / "café.md").write_text("# Menu\ncrème brûlée ☕", encoding="utf-8")
    (private / "secret.txt").write_text("the password", encoding="utf-8")
    return allowed, private


def context_for(allowed: Path) -> ToolContext:
    return ToolContext(folders=(allowed.resolve(),))


def test_read_file_reads_text_inside_an_allowed_folder(folders: tuple[Path, Path]) -> None:
    allowed, _ = folders
    context = context_for(allowed)
    assert run("read_file", context, path="todo.txt").text == "buy milk\nfix the bike\n"
    assert run("read_file", context, path=str(allowed / "sub" / "café.md")).text == (
        "# Menu\ncrème brûlée ☕"
    )
    cut = run("read_file", context, path="todo.txt", max_chars=8)
    assert cut.text == "buy milk\n[… 14 more characters not read]"
    (allowed / "link.txt").symlink_to(allowed / "todo.txt")  # a symlink staying inside
    assert run("read_file", context, path="link.txt").ok


def refused(context: ToolContext, path: str) -> str:
    result = run("read_file", context, path=path)
    assert not result.ok and result.status == "error", result
    return result.text


def test_read_file_refuses_without_an_allowed_folder(folders: tuple[Path, Path]) -> None:
    allowed, _ = folders
    text = refused(ToolContext(), str(allowed / "todo.txt"))
    assert "no folder is allowed" in text and "Preferences › Tools" in text


def test_read_file_refuses_dot_dot_even_when_it_stays_inside(
    folders: tuple[Path, Path],
) -> None:
    allowed, _ = folders
    context = context_for(allowed)
    assert "holds '..'" in refused(context, "../private/secret.txt")
    assert "holds '..'" in refused(context, "sub/../todo.txt")
    assert "holds '..'" in refused(context, str(allowed / ".." / "private" / "secret.txt"))


def test_read_file_refuses_paths_outside(folders: tuple[Path, Path]) -> None:
    allowed, private = folders
    context = context_for(allowed)
    assert "outside the allowed folders" in refused(context, str(private / "secret.txt"))
    assert "outside the allowed folders" in refused(context, "/etc/hostname")
    assert "no file nothere.txt" in refused(context, "nothere.txt")


def test_read_file_refuses_symlinks_leading_out(folders: tuple[Path, Path]) -> None:
    allowed, private = folders
    (allowed / "escape.txt").symlink_to(private / "secret.txt")
    (allowed / "door").symlink_to(private, target_is_directory=True)
    context = context_for(allowed)
    assert "outside the allowed folders" in refused(context, "escape.txt")
    assert "outside the allowed folders" in refused(context, "door/secret.txt")
    assert "the password" not in refused(context, str(allowed / "escape.txt"))


def test_read_file_refuses_folders_devices_fifos_and_sockets(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    allowed, _ = folders
    context = context_for(allowed)
    assert "is a folder" in refused(context, "sub")
    os.mkfifo(allowed / "pipe")  # opening it to read would block forever
    assert "not a regular file" in refused(context, "pipe")
    if sys.platform.startswith("linux"):
        dev = ToolContext(folders=(Path("/dev"),))
        assert "not a regular file" in refused(dev, "/dev/zero")
        assert "not a regular file" in refused(dev, "null")
    server = socket.socket(socket.AF_UNIX)
    try:
        short = Path("/tmp") / f"hearth-sock-{os.getpid()}"
        short.mkdir(exist_ok=True)
        server.bind(str(short / "s"))
        assert "not a regular file" in refused(ToolContext(folders=(short.resolve(),)), "s")
    finally:
        server.close()
        (short / "s").unlink(missing_ok=True)
        short.rmdir()


def test_read_file_refuses_huge_and_binary_files(folders: tuple[Path, Path]) -> None:
    allowed, _ = folders
    context = context_for(allowed)
    (allowed / "big.txt").write_bytes(b"a" * (MAX_FILE_BYTES + 1))
    assert "holds 1,048,577 bytes, over the 1,048,576 a tool may read" in refused(
        context, "big.txt"
    )
    (allowed / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert "not a text file (it holds binary data)" in refused(context, "image.png")
    (allowed / "latin1.txt").write_bytes("café".encode("latin-1"))
    assert "not a text file (it is not UTF-8)" in refused(context, "latin1.txt")
    assert "empty" in refused(context, "  ")


def test_read_file_schema_refuses_other_arguments(folders: tuple[Path, Path]) -> None:
    allowed, _ = folders
    result = run("read_file", context_for(allowed), path="todo.txt", mode="w")
    assert result.status == "refused" and "Additional properties" in result.text


def test_every_builtin_has_a_time_limit_and_no_bounds_a_grammar_cannot_hold() -> None:
    from app.core.json_schema import UNENFORCED

    def keywords(schema: Any) -> set[str]:
        if isinstance(schema, dict):
            return set(schema) | {k for v in schema.values() for k in keywords(v)}
        if isinstance(schema, list):
            return {k for v in schema for k in keywords(v)}
        return set()

    for tool in TOOLS.values():
        assert 0 < tool.timeout_s <= 30
        # Forced calls turn the schema into a grammar: it must hold every keyword.
        assert not keywords(tool.parameters) & UNENFORCED, tool.name
