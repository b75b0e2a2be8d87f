"""The engine's token loop writes the control tokens that mark thinking (gpt-oss's harmony
channels, Magistral's [THINK]) and no other (a fake vocabulary: the starter model has none
of these tokens)."""

from __future__ import annotations

import ctypes
from typing import Any

from app.engine.decode import _Pieces

# id -> (text, control)
VOCAB = {
    1: (b"Hello", False),
    2: (b"<|channel|>", True),
    3: (b"<|message|>", True),
    4: (b"<|end|>", True),
    5: (b"[THINK]", True),
    6: (b"<|im_start|>", True),
    7: (b"<think>", False),  # a user-defined token: always written
}


class FakeLlamaCpp:
    """``llama_token_to_piece`` as llama.cpp answers it: control tokens are empty unless
    specials are asked for."""

    def llama_token_to_piece(
        self, vocab: Any, token: int, buffer: Any, size: int, lstrip: int, special: bool
    ) -> int:
        text, control = VOCAB[token]
        if control and not special:
            return 0
        ctypes.memmove(buffer, text, len(text))
        return len(text)


def test_only_reasoning_markers_among_control_tokens_are_written() -> None:
    pieces = _Pieces(FakeLlamaCpp(), None)
    assert [pieces.get(t) for t in (1, 2, 3, 4, 5, 6, 7)] == [
        b"Hello",
        b"<|channel|>",
        b"<|message|>",
        b"",
        b"[THINK]",
        b"",
        b"<think>",
    ]
