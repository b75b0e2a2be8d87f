"""The valid ranges of sampling and voice values, shared by the command line and the API.

``hearth chat --top-p 7`` and an API request with ``"top_p": 7`` are refused for the same
reason, in the same words. The window's spin boxes offer narrower ranges inside these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Range:
    """Numbers from ``low`` to ``high`` (None: no bound); ``above``/``below`` leave the
    bound itself out; ``whole``: whole numbers only."""

    low: float | None = None
    high: float | None = None
    above: bool = False
    below: bool = False
    whole: bool = False

    def allows(self, value: float) -> bool:
        if isinstance(value, bool) or not math.isfinite(value):
            return False
        if self.whole and value != int(value):
            return False
        if self.low is not None and (value <= self.low if self.above else value < self.low):
            return False
        return self.high is None or (value < self.high if self.below else value <= self.high)

    def describe(self) -> str:
        """What completes "must be …", e.g. "a number from 0 to 1"."""
        kind = "a whole number" if self.whole else "a number"
        low = None if self.low is None else f"{self.low:g}"
        high = None if self.high is None else f"{self.high:g}"
        if low is not None and high is not None and not (self.above or self.below):
            return f"{kind} from {low} to {high}"
        parts = []
        if low is not None:
            parts.append(f"above {low}" if self.above else f"of at least {low}")
        if high is not None:
            parts.append(f"below {high}" if self.below else f"at most {high}")
        return " and ".join([f"{kind} {parts[0]}", *parts[1:]]) if parts else kind

    def up_to(self, high: float) -> Range:
        """This range capped at ``high`` (an API's own, narrower limit)."""
        capped = high if self.high is None else min(self.high, high)
        return replace(self, high=capped, below=self.below and capped == self.high)


# What llama.cpp's samplers accept with a meaning (see GenerationParams).
SAMPLING: dict[str, Range] = {
    # 0 is greedy; llama-cpp-python would read a negative one as "sample unscaled".
    "temperature": Range(0.0),
    "top_p": Range(0.0, 1.0),  # 0 keeps only the likeliest token, 1 turns it off
    "top_k": Range(0, whole=True),  # 0 turns it off
    "min_p": Range(0.0, 1.0),  # 0 turns it off
    "repeat_penalty": Range(0.0, above=True),  # llama.cpp divides logits by it; 1 is off
    "max_tokens": Range(1, whole=True),
}

# ``hearth voice``'s own options: the ranges the voice settings allow
# (app.core.settings_rules, app.voice.session.SPEEDS).
SPEAKING_RATE = Range(0.5, 2.0)
SILENCE_MS = Range(200, 3000, whole=True)
# Silence is a probability below threshold - VadConfig.release (0.15): a lower threshold
# would never hear the end of speech.
VAD_THRESHOLD = Range(0.15, 1.0, above=True)
TIMEOUT_S = Range(0.0, above=True)
FINAL_TAKES = Range(1, 5, whole=True)  # takes of Whisper's final pass (SttConfig.final_takes)
