"""Flash attention as its own switch: ``--flash-attn on|off|auto`` on chat, voice, serve
and plan, Preferences' "Flash attention" (auto by default: on for a quantised cache), the
load request that carries it, and the starter model answering with it on and off as
llama-cpp-python itself does with the same ``flash_attn``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.catalog.library import ModelEntry
from app.cli.args import overrides_from_args
from app.cli.parser import build_parser
from app.composition.options import LoadOverrides, load_options
from app.core.errors import ConfigError
from app.core.generation import GenerationParams, Message
from app.core.settings import Settings
from app.core.settings_rules import FIELDS
from app.engine import protocol as p
from app.engine.kv_cache import flash_mode, kv_setup

QUESTION: list[Message] = [{"role": "user", "content": "Name three colours of the rainbow."}]
GREEDY = GenerationParams(temperature=0.0, max_tokens=16, seed=1)
# llama.cpp's llama_flash_attn_type: DISABLED 0, ENABLED 1 (AUTO -1 is never sent).
DISABLED, ENABLED = 0, 1


def _entry(path: str = "/models/m.gguf") -> ModelEntry:
    return ModelEntry(name="m", kind="chat", path=path)


# -- the setting, the flags and the load request (no model) -------------------------------
def test_modes_and_the_cache_types_they_allow() -> None:
    assert (flash_mode("on"), flash_mode("off"), flash_mode("auto"), flash_mode(None)) == (
        True,
        False,
        None,
        None,
    )
    with pytest.raises(ConfigError, match="on, off or auto"):
        flash_mode("sometimes")
    # auto: on only for a quantised cache, which needs it.
    assert not kv_setup("f16", None).flash_attn
    assert kv_setup("q8_0", None).flash_attn and kv_setup("q4_0", None).flash_attn
    assert kv_setup("f16", True).flash_attn and not kv_setup("f16", False).flash_attn
    with pytest.raises(ConfigError, match="q8_0 KV cache needs flash attention"):
        kv_setup("q8_0", False)


@pytest.mark.parametrize("command", ["chat", "voice", "serve", "plan"])
@pytest.mark.parametrize(("flag", "expected"), [("on", True), ("off", False), ("auto", "auto")])
def test_every_command_takes_the_flag(command: str, flag: str, expected: Any) -> None:
    model = ["m.gguf"] if command == "plan" else []  # plan names its model
    args = build_parser().parse_args([command, *model, "--flash-attn", flag])
    assert overrides_from_args(args).flash_attn == expected
    assert overrides_from_args(build_parser().parse_args([command, *model])).flash_attn is None


def test_the_load_request_carries_the_flag_over_the_setting() -> None:
    settings = Settings()
    assert settings.flash_attn == "auto" and "flash_attn" in FIELDS
    assert load_options(_entry(), settings).request().flash_attn is None  # auto
    settings.flash_attn = "on"
    assert load_options(_entry(), settings).request().flash_attn is True
    assert load_options(_entry(), settings).load_kwargs()["flash_attn"] is True
    settings.flash_attn = "off"
    assert load_options(_entry(), settings).request().flash_attn is False
    # The command's flag wins, "auto" included.
    on = load_options(_entry(), settings, LoadOverrides(flash_attn=True))
    auto = load_options(_entry(), settings, LoadOverrides(flash_attn="auto"))
    assert on.request().flash_attn is True and auto.request().flash_attn is None


def test_a_bad_setting_is_refused_when_settings_load() -> None:
    assert not FIELDS["flash_attn"].accepts("sometimes")
    assert all(FIELDS["flash_attn"].accepts(mode) for mode in ("auto", "on", "off"))


# -- the starter model, with flash attention on and off ----------------------------------
class _Events:
    def __init__(self) -> None:
        self.sent: list[p.Event] = []

    def send(self, event: p.Event) -> None:
        self.sent.append(event)


@pytest.fixture
def worker_for() -> Iterator[Any]:
    from app.engine.worker import _Worker

    workers: list[_Worker] = []

    def make(model: Path, **load: Any) -> _Worker:
        worker = _Worker(_Events())  # type: ignore[arg-type]
        workers.append(worker)
        worker.load(p.LoadModel(0, str(model), n_ctx=1024, n_threads=1, **load))
        return worker

    yield make
    for worker in workers:
        worker.unload()
        if worker.renderer is not None:
            worker.renderer.close()


def _reply(worker: Any) -> str:
    events: list[p.Event] = worker.conn.sent
    start = len(events)
    worker.generate(p.Generate(1, tuple(QUESTION), GREEDY))
    done = [e for e in events[start:] if isinstance(e, p.GenerationDone)]
    assert done, events[start:]
    return str(done[-1].text)


def _direct(model: Path, prompt: list[int], stop: list[str], flash_attn: bool) -> str:
    """llama-cpp-python called directly with ``flash_attn``, the worker's threads."""
    import llama_cpp

    llm = llama_cpp.Llama(
        model_path=str(model),
        n_ctx=1024,
        n_threads=1,
        n_threads_batch=max(1, os.cpu_count() or 1),
        flash_attn=flash_attn,
        verbose=False,
    )
    try:
        flash = llm.context_params.flash_attn_type
        assert flash == (ENABLED if flash_attn else DISABLED)
        completion: Any = llm.create_completion(
            prompt=prompt, max_tokens=GREEDY.max_tokens, temperature=0.0, stop=stop, seed=1
        )
        return str(completion["choices"][0]["text"])
    finally:
        llm.close()


@pytest.mark.slow
@pytest.mark.parametrize("flash_attn", [True, False])
def test_the_starter_answers_as_llama_cpp_does_with_the_same_switch(
    worker_for: Any, smol_model: Path, flash_attn: bool
) -> None:
    worker = worker_for(smol_model, flash_attn=flash_attn)
    assert worker.loaded is not None and worker.loaded.flash_attn is flash_attn
    assert worker.llm.context_params.flash_attn_type == (ENABLED if flash_attn else DISABLED)
    reply = _reply(worker)
    assert reply.strip()
    prompt = worker.tokenize_messages([dict(m) for m in QUESTION])
    assert reply == _direct(smol_model, prompt, list(worker.chat_format.stop), flash_attn)


@pytest.mark.slow
def test_auto_follows_the_cache_and_off_with_a_quantised_cache_is_one_sentence(
    worker_for: Any, smol_model: Path
) -> None:
    auto_f16 = worker_for(smol_model)
    assert auto_f16.loaded is not None and auto_f16.loaded.flash_attn is False
    assert auto_f16.llm.context_params.flash_attn_type == DISABLED
    auto_f16.unload()
    auto_q8 = worker_for(smol_model, kv_type="q8_0")
    assert auto_q8.loaded is not None and auto_q8.loaded.flash_attn is True
    auto_q8.unload()
    from app.engine.worker import _Worker

    worker = _Worker(_Events())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="needs flash attention"):
        worker.load(p.LoadModel(0, str(smol_model), n_ctx=1024, kv_type="q8_0", flash_attn=False))
    assert worker.llm is None
    # The model still loads and answers once the setting is fixed.
    worker.load(p.LoadModel(0, str(smol_model), n_ctx=1024, n_threads=1, kv_type="q8_0"))
    try:
        assert _reply(worker).strip()
    finally:
        worker.unload()
        if worker.renderer is not None:
            worker.renderer.close()


def _hearth_chat(smol_model: Path, *flags: str) -> Any:
    import subprocess
    import sys

    args = ["chat", "--model", str(smol_model), *flags, "--max-tokens", "4"]
    return subprocess.run(
        [sys.executable, "-m", "app", *args, "--json", "--prompt", "Say hi"],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
        check=False,
    )


@pytest.mark.slow
def test_hearth_chat_flash_attn_on_answers_and_off_with_q8_0_is_one_sentence(
    smol_model: Path,
) -> None:
    import json

    result = _hearth_chat(smol_model, "--flash-attn", "on")
    assert result.returncode == 0, result.stderr[-2000:]
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["flash_attn"] is True and payload["kv_type"] == "f16"
    assert payload["stats"]["completion_tokens"] > 0
    refused = _hearth_chat(smol_model, "--flash-attn", "off", "--kv-type", "q8_0")
    assert refused.returncode != 0
    assert "q8_0 KV cache needs flash attention" in refused.stderr
    assert "Traceback" not in refused.stderr
