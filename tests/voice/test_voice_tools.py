"""“What time is it?” hands-free: the whole voice loop on the virtual devices, Whisper,
Piper and the starter chat model real, the model forced to call the date and time tool.
The tool runs; only the final answer is spoken and kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from app.engine.client import EngineClient
from app.tools.agent import ToolEngine
from app.tools.builtin.clock import datetime_tool
from app.tools.registry import ToolContext, ToolRegistry
from app.voice.loop import VoiceConfig
from app.voice.stt import SpeechToText
from app.voice.tts import TextToSpeech
from app.voice.vad import SileroVad
from tests.voice.audio_env import PulseServer
from tests.voice.conftest import words
from tests.voice.test_voice_e2e import running_loop, transcribe_recording

pytestmark = pytest.mark.slow

FIXED = datetime(2026, 11, 29, 17, 5, 9, tzinfo=timezone(timedelta(hours=1), "CET"))


def test_what_time_is_it_runs_the_clock_and_speaks_only_the_answer(
    pulse: PulseServer,
    stt: SpeechToText,
    tts: TextToSpeech,
    silero: SileroVad,
    speech_wav: Callable[[str], Path],
    smol_engine: EngineClient,
) -> None:
    clock = datetime_tool()
    registry = ToolRegistry()
    registry.register(clock)
    registry.set_enabled(clock.name, True)
    records: list[list[dict[str, Any]]] = []
    engine = ToolEngine(
        smol_engine,
        registry,
        [clock],
        lambda: ToolContext(now=lambda: FIXED),
        choice="required",
        then="none",
        on_records=records.append,
    )
    config = VoiceConfig(language="en")
    speaker = pulse.recorder("speaker.monitor")
    with running_loop(engine, stt, tts, silero, config, max_turns=1, timeout=120) as run:
        assert pulse.play(speech_wav("What time is it?")).wait(20) == 0
        assert run.done.wait(150)
    audio = speaker.stop()
    assert run.error is None, run.error
    (result,) = run.results
    # Each reply made (a draft's, then the final transcript's when they differ) called
    # the clock once; the answer's calls are the last reported.
    assert records and all(len(r) == 1 for r in records)
    [record] = records[-1]
    assert (record["name"], record["ok"]) == ("current_datetime", True)
    assert record["result"] == "2026-11-29 17:05:09, Sunday; time zone CET (UTC+01:00)"
    # What was spoken and kept is the answer: the forced call's JSON never was.
    assert (
        result.spoken.strip()
        and "{" not in result.reply
        and "current_datetime" not in (result.reply)
    )
    assert run.loop.conversation.history()[-1] == {"role": "assistant", "content": result.spoken}
    heard = set(words(transcribe_recording(stt, audio)))
    assert not {"arguments", "datetime", "json"} & heard, heard


@pytest.mark.parametrize(
    ("answer", "allowed"), [("Yes, go ahead.", True), ("No, thank you.", False)]
)
def test_a_tool_that_asks_is_asked_aloud_and_runs_only_on_a_spoken_yes(
    pulse: PulseServer,
    stt: SpeechToText,
    tts: TextToSpeech,
    silero: SileroVad,
    speech_wav: Callable[[str], Path],
    smol_engine: EngineClient,
    answer: str,
    allowed: bool,
) -> None:
    """Hands-free, a tool set to Ask each time: Hearth says "May I use …? Say yes or no.",
    the user's spoken answer neither interrupts the turn nor starts another, and the tool
    runs on a yes only; either way the turn ends with a spoken answer."""
    clock = datetime_tool()
    registry = ToolRegistry()
    registry.register(clock)
    registry.set_enabled(clock.name, True)
    registry.set_permission(clock.name, "ask")
    loops: list[Any] = []
    records: list[list[dict[str, Any]]] = []
    engine = ToolEngine(
        smol_engine,
        registry,
        [clock],
        lambda: ToolContext(now=lambda: FIXED),
        ask=lambda tool, call: bool(loops) and loops[0].ask_tool(tool, call),
        choice="required",
        then="none",
        on_records=records.append,
    )
    asked = threading.Event()
    questions: list[str] = []
    answers: list[bool | None] = []
    speaker = pulse.recorder("speaker.monitor")
    with running_loop(
        engine, stt, tts, silero, VoiceConfig(language="en"), max_turns=1, timeout=150
    ) as run:
        loops.append(run.loop)
        run.loop.callbacks.permission_asked = lambda q: (questions.append(q), asked.set())
        run.loop.callbacks.permission_answered = answers.append
        assert pulse.play(speech_wav("What time is it?")).wait(20) == 0
        assert asked.wait(120), "no permission was asked"
        # The user answers once the question is said: it is synthesised, then played.
        deadline = time.monotonic() + 20
        while not run.loop.player.busy and time.monotonic() < deadline:
            run.done.wait(0.02)
        while run.loop.player.busy and time.monotonic() < deadline:
            run.done.wait(0.05)
        assert pulse.play(speech_wav(answer)).wait(20) == 0
        assert run.done.wait(150)
    audio = speaker.stop()
    assert run.error is None, run.error
    assert questions == [f"May I use {clock.label}? Say yes or no."]
    assert answers == [allowed]
    (result,) = run.results
    assert not result.interrupted and result.spoken.strip()
    [record] = records[-1]
    if allowed:
        assert (record["ok"], record["status"]) == (True, "complete")
        assert record["result"] == "2026-11-29 17:05:09, Sunday; time zone CET (UTC+01:00)"
    else:
        assert (record["ok"], record["status"]) == (False, "refused")
    heard = set(words(transcribe_recording(stt, audio)))
    assert {"yes", "no"} <= heard, heard  # "Say yes or no." was said aloud
