"""``hearth voice`` on GGUF copies whose chat template loops, escapes the sandbox, or runs
away on one conversation: the spoken question is answered aloud from the built-in
template, and the terminal and the JSON result say which model and why."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.templates import bad_template_copy, expected_notice
from tests.voice.audio_env import PulseServer
from tests.voice.test_voice_e2e import QUESTION, app_env, finish, start_app

pytestmark = pytest.mark.slow

BUDGET_S = 5.0


@pytest.mark.parametrize("kind", ["loop", "escape", "stall"])
def test_voice_answers_with_the_builtin_template_and_says_why(
    pulse: PulseServer,
    speech_wav: Callable[[str], Path],
    smol_model: Path,
    tmp_path: Path,
    kind: str,
) -> None:
    copy = bad_template_copy(smol_model, tmp_path / "models", kind)
    notice = expected_notice(copy, kind)
    # The stalling template passes its trial at load and runs away on this system prompt.
    system = ("--system", "Answer briefly; never stall.") if kind == "stall" else ()
    app = start_app(
        app_env(pulse, tmp_path / "home"),
        *("--once", "--json", "--timeout", "60", "--temperature", "0", "--seed", "1"),
        *("--max-tokens", "24", "--model", str(copy), *system),
    )
    assert app.listening.wait(180), app.stderr
    # Said on the terminal before listening starts (the stalling one cannot be yet).
    assert (f"[{notice}]" in app.stderr) == (kind != "stall"), app.stderr
    player = pulse.play(speech_wav(QUESTION))
    code, out = finish(app)
    assert player.wait(10) == 0
    assert code == 0, app.stderr
    result = json.loads(out)
    assert result["notice"] == notice
    assert result["reply"].strip() and result["spoken"] == result["reply"].strip()
    timings = result["timings"]
    # The engine's share of the turn: at most the template's 2 s, then the built-in one.
    assert timings["first_token"] - timings["llm_request"] < BUDGET_S, timings
