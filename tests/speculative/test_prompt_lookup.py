"""Prompt-lookup speculative decoding in the worker's token loop (engine.speculative).

The exact tests run on a context whose micro-batch is one token (``n_ubatch=1``):
llama.cpp then computes a draft's positions one by one, so each position's logits are
bit-identical to the plain loop's, and the reply, its finish reason, its token count
and the KV cache afterwards must be equal, token for token, greedy or seeded. That
checks everything speculative decoding adds (the draft, the verification position by
position with the same sampler chain, the rejected tail leaving the cache) apart from
llama.cpp's batched arithmetic, which the last tests cover by properties.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from app.core.generation import JSON_OBJECT_SCHEMA, GenerationParams
from app.engine.decode import TokenLoop
from app.engine.sampling import json_grammar
from app.engine.speculative import PromptLookup, drafting_supported, parse_draft
from tests.fixtures.models import smollm2_path

pytestmark = pytest.mark.slow

STOP = ["<|im_end|>"]
CODE = "\n".join(
    f"    print('value', x, {i})" if i % 3 == 0 else f"    x = x + {i}  # step {i}"
    for i in range(40)
)
PROMPTS = {
    "code-edit": "Rename the variable x to count in this function:\n\ndef f(x):\n"
    + CODE
    + "\n    return x\n",
    "copy": "Repeat this list exactly, line by line:\n"
    + "\n".join(
        f"{i}. the {w} is on the table"
        for i, w in enumerate(["cup", "book", "pen", "lamp", "phone", "key", "plate", "bottle"] * 2)
    ),
    "question": "What is the capital of France?",
    "chinese": "把这句话重复三遍：我们今天去海边看日出，然后一起吃早饭。",
}


def chatml(llm: Any, text: str) -> list[int]:
    prompt = f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"
    return list(llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))


@dataclasses.dataclass(frozen=True)
class Outcome:
    text: str
    tokens: tuple[int, ...]
    finish_reason: str
    sampled: int
    cached: tuple[int, ...]  # llm.input_ids[:n_tokens] afterwards


def reply(
    llm: Any,
    prompt: list[int],
    params: GenerationParams,
    drafter: PromptLookup | None,
    *,
    stop_after: int = 0,
    grammar: Any = None,
) -> tuple[Outcome, list[str]]:
    llm.reset()
    calls = [0]

    def should_stop() -> bool:
        calls[0] += 1
        return 0 < stop_after <= calls[0]

    loop = TokenLoop(
        llm,
        prompt,
        params,
        max_tokens=params.max_tokens,
        stop=[*STOP, *params.stop],
        grammar=grammar,
        should_stop=should_stop,
        drafter=drafter,
    )
    pieces = list(loop.texts())
    cached = tuple(int(t) for t in llm.input_ids[: llm.n_tokens])
    outcome = Outcome("".join(pieces), tuple(loop.tokens), loop.finish_reason, loop.sampled, cached)
    return outcome, pieces


def compare(
    llm: Any, text: str, params: GenerationParams, **kwargs: Any
) -> tuple[Outcome, Outcome, PromptLookup]:
    prompt = chatml(llm, text)
    plain, _ = reply(llm, prompt, params, None, **kwargs)
    # Drafting wherever the n-gram matches: every verification path runs (the adaptive
    # policy, tests/speculative/test_draft_policy.py, drafts only where it pays).
    drafter = PromptLookup(adaptive=False)
    drafted, pieces = reply(llm, prompt, params, drafter, **kwargs)
    assert all(pieces), "no empty piece is streamed"
    return plain, drafted, drafter


def _llama(n_ubatch: int) -> Any:
    import llama_cpp

    return llama_cpp.Llama(
        str(smollm2_path()),
        n_ctx=1024,
        n_batch=512,
        n_ubatch=n_ubatch,
        n_threads=1,
        verbose=False,
    )


@pytest.fixture(scope="module")
def exact() -> Iterator[Any]:
    llm = _llama(1)
    yield llm
    llm.close()


@pytest.fixture(scope="module")
def batched() -> Iterator[Any]:
    llm = _llama(512)
    yield llm
    llm.close()


# --- fast unit tests of the drafter --------------------------------------------------


def test_lookup_proposes_what_followed_the_latest_occurrence() -> None:
    lookup = PromptLookup(max_ngram=2, min_ngram=1, max_draft=8, adaptive=False)
    lookup.length = 8
    lookup.extend([1, 2, 3, 4, 9, 1, 2, 5, 6, 7, 1, 2])
    assert lookup.draft(8) == [5, 6, 7, 1, 2]  # after the latest (1, 2), not the first
    assert lookup.draft(2) == [5, 6]
    lookup.extend([8])  # 8 for 5: taken as an edit, the copy goes on after the 5
    assert lookup.draft(8) == [6, 7, 1, 2, 8]
    lookup.extend([30, 31, 32, 33])  # no copy any more: the place is lost
    assert lookup.draft(8) == []  # and neither (32, 33) nor (33,) came before


def test_lookup_prefers_the_longest_ngram() -> None:
    lookup = PromptLookup(max_ngram=3, min_ngram=1, max_draft=4, adaptive=False)
    lookup.length = 4
    lookup.extend([7, 1, 2, 3, 40, 41, 0, 2, 3, 50, 51, 1, 2, 3])
    assert lookup.draft(4) == [40, 41, 0, 2]  # (1, 2, 3) beats the later (2, 3)


def test_draft_length_adapts_to_acceptance() -> None:
    lookup = PromptLookup(max_draft=16, adaptive=False)
    assert lookup.length == 4
    lookup.record(4, 4)
    assert lookup.length == 8
    lookup.record(8, 8)
    lookup.record(16, 16)
    assert lookup.length == 16
    lookup.record(16, 0)
    assert lookup.length == 8
    lookup.record(8, 3)  # partly taken: kept
    assert lookup.length == 8
    assert lookup.acceptance == pytest.approx((4 + 8 + 16 + 3) / (4 + 8 + 16 + 16 + 8))


def test_draft_option_values() -> None:
    assert parse_draft(None) is None
    assert parse_draft("none") is None
    assert parse_draft("Lookup") == "lookup"
    # Anything else names a draft model (a path or a library name), resolved by the front end.
    assert parse_draft(" /models/draft.gguf ") == "/models/draft.gguf"


# --- exact: the reply the plain loop gives, token for token ---------------------------

CASES = {
    "code-edit-greedy": ("code-edit", GenerationParams(max_tokens=200, temperature=0.0)),
    "copy-greedy": ("copy", GenerationParams(max_tokens=160, temperature=0.0)),
    "question-greedy": ("question", GenerationParams(max_tokens=48, temperature=0.0)),
    "chinese-greedy": ("chinese", GenerationParams(max_tokens=96, temperature=0.0)),
    "copy-stop-strings": (
        "copy",
        GenerationParams(max_tokens=160, temperature=0.0, stop=("lamp is", "key")),
    ),
    "copy-max-tokens-7": ("copy", GenerationParams(max_tokens=7, temperature=0.0)),
    "copy-max-tokens-45": ("copy", GenerationParams(max_tokens=45, temperature=0.0)),
    "copy-seeded": ("copy", GenerationParams(max_tokens=120, temperature=0.8, seed=1234)),
    "chinese-seeded": ("chinese", GenerationParams(max_tokens=96, temperature=1.1, seed=21)),
    "code-edit-penalty": (
        "code-edit",
        GenerationParams(max_tokens=120, temperature=0.7, repeat_penalty=1.3, seed=3),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_reply_as_the_plain_loop(exact: Any, case: str) -> None:
    name, params = CASES[case]
    plain, drafted, drafter = compare(exact, PROMPTS[name], params)
    assert drafted == plain
    assert plain.tokens
    if name == "copy" and (params.max_tokens or 0) > 40:
        assert drafter.accepted > 0, "drafts were taken: the verification path ran"


def test_grammar_reply_equal(exact: Any) -> None:
    params = GenerationParams(max_tokens=64, temperature=0.0, json_schema=JSON_OBJECT_SCHEMA)
    grammar = json_grammar(exact, JSON_OBJECT_SCHEMA)
    plain, drafted, _ = compare(exact, PROMPTS["copy"], params, grammar=grammar)
    assert drafted == plain
    assert plain.text.lstrip().startswith("{")


@pytest.mark.parametrize("stop_after", [1, 9, 30])
def test_cancel_at_the_next_token(exact: Any, stop_after: int) -> None:
    params = GenerationParams(max_tokens=120, temperature=0.0)
    plain, drafted, _ = compare(exact, PROMPTS["copy"], params, stop_after=stop_after)
    assert drafted == plain
    assert drafted.sampled == stop_after
    assert len(drafted.tokens) == stop_after - 1  # the token sampled at the cancel is dropped


def test_follow_up_reuses_the_cache(exact: Any) -> None:
    """A reply ended inside a draft leaves a cache the next reply (plain) reuses."""
    params = GenerationParams(max_tokens=40, temperature=0.0, stop=("table",))
    prompt = chatml(exact, PROMPTS["copy"])
    results = []
    for drafter in (None, PromptLookup(adaptive=False)):
        first, _ = reply(exact, prompt, params, drafter)
        # The same prompt again, from the cache as left: its last token is evaluated anew.
        loop = TokenLoop(exact, prompt, params, max_tokens=40, stop=STOP, drafter=None)
        results.append((first, "".join(loop.texts())))
    assert results[0] == results[1]


# --- batched: llama.cpp's own batch arithmetic ----------------------------------------


def _kv_positions(llm: Any) -> int:
    import llama_cpp

    return int(llama_cpp.llama_memory_seq_pos_max(llama_cpp.llama_get_memory(llm.ctx), 0)) + 1


@pytest.mark.parametrize("name", ["code-edit", "copy", "chinese"])
def test_batched_cache_holds_the_reply(batched: Any, name: str) -> None:
    """With real batches the cache holds the prompt and the reply's tokens (the last one
    sampled not yet decoded), no rejected draft token, in llama.cpp's memory too."""
    params = GenerationParams(max_tokens=160, temperature=0.0)
    prompt = chatml(batched, PROMPTS[name])
    drafter = PromptLookup(adaptive=False)
    got, _ = reply(batched, prompt, params, drafter)
    assert drafter.drafted > 0
    held = len(got.cached) - len(prompt)
    assert held in (len(got.tokens), len(got.tokens) - 1)
    assert got.cached == tuple(prompt) + got.tokens[:held]
    assert _kv_positions(batched) == len(got.cached)


def test_batched_greedy_reply_agrees(batched: Any) -> None:
    """Every token of a greedy reply with drafts is the plain loop's as long as the
    replies agree; llama.cpp's batched kernels may tip a near tie (on this machine the
    starter's logits differ by up to ~1 between a batch and a single token), so only a
    long common start is asserted, and the reply is well formed."""
    params = GenerationParams(max_tokens=120, temperature=0.0)
    plain, drafted, drafter = compare(batched, PROMPTS["copy"], params)
    assert drafter.accepted > 0
    common = next(
        (i for i, (a, b) in enumerate(zip(plain.tokens, drafted.tokens, strict=False)) if a != b),
        min(len(plain.tokens), len(drafted.tokens)),
    )
    assert common >= 16
    assert drafted.text.encode("utf-8")


def test_recurrent_models_are_not_drafted(exact: Any) -> None:
    assert drafting_supported(exact)
