"""kill -9 of the CLI, the window or the server leaves no engine worker behind.

Each front end runs as a real process on the "stall" copy of the starter model: its chat
template ends in three nested ``range(99999)`` loops for a message holding "stall" (any
other renders as the starter's own template, so the model loads and answers normally; an
unconditional runaway would be caught by the trial render at load, before any message).
The process is killed (the process only, not its group: as a user's kill -9 or a crash
does) either while the worker generates a reply or while it renders that template, and
2 s later none of the processes it had started may be left: the engine worker, the
template renderer, multiprocessing's resource tracker. Nothing may be printed on the
stderr they shared (no BrokenPipeError traceback).

The template case kills as soon as the tree has burnt 0.15 s of CPU on "stall" (at most
1.5 s after sending it), well inside the renderer's 2 s budget, and checks that no reply
text had come: the kill landed while the template was still rendering.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from tests.fixtures.processes import TREE_MARKER, descendants, describe, marked, wait_gone
from tests.fixtures.templates import bad_template_copy

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 180.0
STALL = "stall"  # the message the "stall" template runs away on
STORY = "Write a very long story about a brave little ship and its crew."


@pytest.fixture(scope="module")
def runaway_model(smol_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bad_template_copy(smol_model, tmp_path_factory.mktemp("runaway"), "stall")


class Family:
    """A Hearth process started with a marker its children inherit; output pumped."""

    def __init__(self, *args: str, stdin: bool = False) -> None:
        self.marker = uuid.uuid4().hex
        self.process = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env={**os.environ, TREE_MARKER: self.marker},
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.out = bytearray()
        self.err = bytearray()
        self.err_closed = threading.Event()
        assert self.process.stdout is not None and self.process.stderr is not None
        for stream, buffer, closed in (
            (self.process.stdout, self.out, threading.Event()),
            (self.process.stderr, self.err, self.err_closed),
        ):
            threading.Thread(
                target=_pump, args=(stream.fileno(), buffer, closed), daemon=True
            ).start()

    @property
    def stdout(self) -> str:
        return self.out.decode(errors="replace")

    @property
    def stderr(self) -> str:
        return self.err.decode(errors="replace")

    def wait_for(self, what: Callable[[], bool], doing: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not what():
            assert self.process.poll() is None, f"it exited while {doing}: {self.stderr}"
            assert time.monotonic() < deadline, f"timed out {doing}: {self.stderr}"
            time.sleep(0.02)

    def write(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def cpu_seconds(self) -> dict[int, float]:
        """CPU time so far of each process below the one started."""
        seconds = {}
        for process in descendants(self.process.pid):
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            seconds[process.pid] = times.user + times.system
        return seconds

    def wait_busy(self, before: dict[int, float], cpu_s: float = 0.15, within: float = 1.5) -> None:
        """Return once the children burnt ``cpu_s`` since ``before`` (or ``within`` passed)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            now = self.cpu_seconds()
            if sum(t - before.get(pid, 0.0) for pid, t in now.items()) >= cpu_s:
                return
            time.sleep(0.02)

    def kill_and_check(self) -> None:
        """kill -9 the process; no child of it may be left 2 s later, nor a word on stderr."""
        children = descendants(self.process.pid)
        commands = [" ".join(_cmdline(p)) for p in children]
        assert any("spawn_main" in c for c in commands), f"no engine worker in {commands}"
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        left = wait_gone([*children, *marked(self.marker)], timeout=2.0)
        assert not left, f"still running 2 s after the kill: {describe(left)}"
        # EOF on the stderr they shared: no process of the family holds it any more.
        assert self.err_closed.wait(5.0), "stderr stayed open after the kill"
        assert "Traceback" not in self.stderr, self.stderr
        assert not re.search(r"\w+Error\b", self.stderr), self.stderr

    def clean_up(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for process in marked(self.marker):
            process.kill()


def _pump(fd: int, buffer: bytearray, closed: threading.Event) -> None:
    while chunk := os.read(fd, 65536):
        buffer.extend(chunk)
    closed.set()


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return list(process.cmdline())
    except psutil.Error:
        return []


@pytest.fixture
def families() -> Iterator[list[Family]]:
    started: list[Family] = []
    yield started
    for family in started:
        family.clean_up()


def _reply_started(family: Family, after: str) -> bool:
    """Reply text on stdout past ``after`` (the CLI's prompt)."""
    _, found, rest = family.stdout.partition(after)
    return bool(found) and len(rest.strip()) >= 20


# -- the CLI --------------------------------------------------------------------------------
def start_cli(families: list[Family], model: Path) -> Family:
    family = Family("-m", "app", "chat", "--model", str(model), "--max-tokens", "2000", stdin=True)
    families.append(family)
    family.wait_for(lambda: "Chatting with" in family.stderr, "loading the model")
    family.wait_for(lambda: "> " in family.stdout, "waiting for the prompt")
    return family


def test_kill_cli_while_generating(families: list[Family], runaway_model: Path) -> None:
    family = start_cli(families, runaway_model)
    family.write(STORY)
    family.wait_for(lambda: _reply_started(family, "> "), "waiting for the reply")
    family.kill_and_check()


def test_kill_cli_while_rendering_a_runaway_template(
    families: list[Family], runaway_model: Path
) -> None:
    family = start_cli(families, runaway_model)
    before = family.cpu_seconds()
    family.write(STALL)
    family.wait_busy(before)
    replied = _reply_started(family, "> ")
    family.kill_and_check()
    assert not replied, "the template had already given way: the kill came too late"


# -- the window -----------------------------------------------------------------------------
def start_window(families: list[Family], model: Path, message: str) -> Family:
    family = Family("-m", "tests.integration.window_driver", str(model), message)
    families.append(family)
    return family


def test_kill_window_while_generating(families: list[Family], runaway_model: Path) -> None:
    family = start_window(families, runaway_model, STORY)
    family.wait_for(lambda: "DELTA" in family.stdout, "waiting for the reply")
    family.kill_and_check()


def test_kill_window_while_rendering_a_runaway_template(
    families: list[Family], runaway_model: Path
) -> None:
    family = start_window(families, runaway_model, STALL)
    family.wait_for(lambda: "SENT" in family.stdout, "loading the model")
    family.wait_busy(family.cpu_seconds())
    replied = "DELTA" in family.stdout
    family.kill_and_check()
    assert not replied, "the template had already given way: the kill came too late"


# -- the server -----------------------------------------------------------------------------
def start_server(families: list[Family], model: Path) -> tuple[Family, str, str]:
    family = Family("-m", "app", "serve", "--model", str(model), "--port", "0", "--ctx", "2048")
    families.append(family)
    family.wait_for(lambda: " at http://" in family.stdout, "starting the server")
    match = re.search(r"serving (\S+) at http://([\d.]+):(\d+)", family.stdout)
    assert match is not None, family.stdout
    return family, match.group(1), f"{match.group(2)}:{match.group(3)}"


class StreamedChat:
    """A streamed /v1/chat/completions request; its reply text is collected as it comes."""

    def __init__(self, address: str, model: str, text: str) -> None:
        self.connection = http.client.HTTPConnection(address, timeout=TIMEOUT)
        body = {
            "model": model,
            "messages": [{"role": "user", "content": text}],
            "max_tokens": 2000,
            "stream": True,
        }
        self.connection.request(
            "POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"}
        )
        self.text = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            response = self.connection.getresponse()
            while line := response.readline():
                if line.startswith(b"data: {"):
                    choice = json.loads(line[6:])["choices"][0]
                    self.text += choice["delta"].get("content") or ""
        except (http.client.HTTPException, OSError):
            pass  # the server was killed


def test_kill_server_while_generating(families: list[Family], runaway_model: Path) -> None:
    family, model, address = start_server(families, runaway_model)
    chat = StreamedChat(address, model, STORY)
    family.wait_for(lambda: len(chat.text) >= 20, "waiting for the reply")
    family.kill_and_check()
    chat.connection.close()


def test_kill_server_while_rendering_a_runaway_template(
    families: list[Family], runaway_model: Path
) -> None:
    family, model, address = start_server(families, runaway_model)
    before = family.cpu_seconds()
    chat = StreamedChat(address, model, STALL)
    family.wait_busy(before)
    replied = bool(chat.text)
    family.kill_and_check()
    chat.connection.close()
    assert not replied, "the template had already given way: the kill came too late"


# -- the worker on its own ------------------------------------------------------------------
def test_worker_leaves_quietly_when_its_pipe_closes_mid_reply(
    smol_model: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """What macOS and Windows see when Hearth is gone (and Linux when a caller closes the
    pipe but lives on): EOF and a broken pipe mid-reply. The worker ends with status 0
    and prints nothing (it used to print a BrokenPipeError traceback)."""
    import multiprocessing as mp

    from app.core.generation import GenerationParams
    from app.engine import protocol as p
    from app.engine.worker import worker_main

    ctx = mp.get_context("spawn")
    conn, child_conn = ctx.Pipe()
    worker = ctx.Process(target=worker_main, args=(child_conn, None), daemon=True)
    worker.start()
    child_conn.close()
    try:
        conn.send(p.LoadModel(1, str(smol_model), n_ctx=1024))
        messages = ({"role": "user", "content": STORY},)
        conn.send(p.Generate(2, messages, GenerationParams(max_tokens=2000, seed=1)))
        while not isinstance(event := conn.recv(), p.Delta):
            assert not isinstance(event, p.ErrorEvent), event
        conn.close()
        worker.join(10)
        assert worker.exitcode == 0
    finally:
        if worker.is_alive():
            worker.kill()
    err = capfd.readouterr().err
    assert "Traceback" not in err and not re.search(r"\w+Error\b", err), err
