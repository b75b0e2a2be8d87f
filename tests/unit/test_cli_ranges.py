"""Sampling and voice values out of their range are refused like ``--ctx 0``: exit status
2 and one sentence naming the option and its range, before anything is loaded."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from app.cli.main import EXIT_USAGE, build_parser, run
from app.core.ranges import (
    SAMPLING,
    SILENCE_MS,
    SPEAKING_RATE,
    VAD_THRESHOLD,
    Range,
)
from app.core.settings_rules import GROUPS
from app.server.openai_api import ApiError, Limits, parse_chat

REFUSED = [
    ("chat", "--temperature", "-3", "must be a number of at least 0, not -3"),
    ("chat", "--temperature", "nan", "must be a number of at least 0, not nan"),
    ("chat", "--temperature", "warm", "'warm' is not a number"),
    ("chat", "--top-p", "7", "must be a number from 0 to 1, not 7"),
    ("chat", "--top-p", "-0.1", "must be a number from 0 to 1, not -0.1"),
    ("chat", "--top-k", "-1", "must be a whole number of at least 0, not -1"),
    ("chat", "--top-k", "2.5", "'2.5' is not a whole number"),
    ("chat", "--min-p", "1.5", "must be a number from 0 to 1, not 1.5"),
    ("chat", "--repeat-penalty", "0", "must be a number above 0, not 0"),
    ("chat", "--repeat-penalty", "-1", "must be a number above 0, not -1"),
    ("chat", "--max-tokens", "0", "must be a whole number of at least 1, not 0"),
    ("chat", "--ctx", "0", "must be greater than 0"),
    ("voice", "--temperature", "-0.5", "must be a number of at least 0, not -0.5"),
    ("voice", "--max-tokens", "-4", "must be a whole number of at least 1, not -4"),
    ("voice", "--speed", "3", "must be a number from 0.5 to 2, not 3"),
    ("voice", "--speed", "0", "must be a number from 0.5 to 2, not 0"),
    ("voice", "--silence-ms", "50", "must be a whole number from 200 to 3000, not 50"),
    ("voice", "--vad-threshold", "0.1", "must be a number above 0.15 and at most 1, not 0.1"),
    ("voice", "--vad-threshold", "2", "must be a number above 0.15 and at most 1, not 2"),
    ("voice", "--timeout", "0", "must be a number above 0, not 0"),
]


@pytest.mark.parametrize(
    ("command", "option", "value", "reason"),
    REFUSED,
    ids=[f"{c} {o} {v}" for c, o, v, _ in REFUSED],
)
def test_out_of_range_values_are_refused(
    capsys: pytest.CaptureFixture[str], command: str, option: str, value: str, reason: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        run([command, option, value, "--model", "/nowhere/never-loaded.gguf"])
    assert exited.value.code == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"hearth {command}: error: argument {option}: {reason}"


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [
        ("chat", "--temperature", "0"),
        ("chat", "--temperature", "5"),
        ("chat", "--top-p", "0"),
        ("chat", "--top-p", "1"),
        ("chat", "--top-k", "0"),
        ("chat", "--min-p", "0"),
        ("chat", "--repeat-penalty", "0.5"),
        ("voice", "--speed", "0.5"),
        ("voice", "--speed", "2"),
        ("voice", "--silence-ms", "3000"),
        ("voice", "--vad-threshold", "1"),
    ],
)
def test_values_at_the_edges_are_accepted(command: str, option: str, value: str) -> None:
    args = build_parser().parse_args([command, option, value])
    assert getattr(args, option.lstrip("-").replace("-", "_")) == float(value)


def test_a_real_hearth_process_refuses_before_loading_anything() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "chat", "--top-p", "7", "--prompt", "hi"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == EXIT_USAGE and result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "hearth chat: error: argument --top-p: must be a number from 0 to 1, not 7"
    )
    assert "Traceback" not in result.stderr


def test_ranges_allow_and_describe() -> None:
    closed, open_low = Range(0.0, 1.0), Range(0.0, above=True)
    assert closed.allows(0) and closed.allows(1) and not closed.allows(1.0001)
    assert not open_low.allows(0) and open_low.allows(1e-9) and open_low.allows(1e9)
    assert not Range(0.0).allows(math.inf) and not Range().allows(math.nan)
    assert not Range(0, whole=True).allows(2.5) and not Range().allows(True)
    assert closed.describe() == "a number from 0 to 1"
    assert Range(0.0, 1.0, below=True).describe() == "a number of at least 0 and below 1"
    assert Range(1, whole=True).describe() == "a whole number of at least 1"
    assert Range().describe() == "a number"
    assert open_low.up_to(4.0) == Range(0.0, 4.0, above=True)
    assert Range(0.0, 1.0).up_to(2.0) == Range(0.0, 1.0)


def test_the_api_refuses_what_the_command_line_refuses() -> None:
    # One table for both: the same reason, word for word (the API caps some lower).
    for key, value in (("top_p", 7), ("min_p", 1.5), ("temperature", -3)):
        with pytest.raises(ApiError) as refused:
            parse_chat({"messages": [{"role": "user", "content": "x"}], key: value}, Limits())
        capped = SAMPLING[key].up_to(2.0) if key == "temperature" else SAMPLING[key]
        assert refused.value.message == f"'{key}' must be {capped.describe()}."


def test_voice_ranges_are_the_voice_settings_ranges() -> None:
    from app.voice.session import SPEEDS
    from app.voice.vad import VadConfig

    voice = GROUPS["voice"]
    assert (SPEAKING_RATE.low, SPEAKING_RATE.high) == SPEEDS
    for edge in (SPEEDS[0], SPEEDS[1]):
        assert voice["speed"].accepts(edge) and SPEAKING_RATE.allows(edge)
    for value in (199, 200, 3000, 3001):
        assert voice["silence_ms"].accepts(value) == SILENCE_MS.allows(value)
    assert VAD_THRESHOLD.low == VadConfig().release and VAD_THRESHOLD.above
