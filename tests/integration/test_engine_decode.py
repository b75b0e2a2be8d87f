"""The worker's token loop (engine.decode) against llama-cpp-python's own loop.

Both run in this process on one real model, one after the other from a cleared
context, with the same prompt tokens, sampling, seed and threads: the reply, its finish
reason, its token count and the tokens left in the KV cache must be equal. That holds on
any CPU, whatever words the model picks there.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.generation import JSON_OBJECT_SCHEMA, GenerationParams
from app.engine import protocol as p
from app.engine.decode import TokenLoop
from app.engine.sampling import json_grammar, logit_bias
from app.engine.worker import _Worker

pytestmark = pytest.mark.slow

STORY = [{"role": "user", "content": "Write a long story about a dragon and a knight."}]
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
# Replies with characters of two to four bytes, split across tokens.
UNICODE = [
    {
        "role": "user",
        "content": "Write the word sea in Chinese, Greek and Russian, then five emoji: "
        "海 θάλασσα 🌊",
    }
]


@dataclasses.dataclass(frozen=True)
class Outcome:
    text: str
    finish_reason: str
    completion_tokens: int
    cached: tuple[int, ...]  # the tokens in the KV cache afterwards


class _Events:
    def __init__(self) -> None:
        self.sent: list[p.Event] = []

    def send(self, event: p.Event) -> None:
        self.sent.append(event)


def _load(path: Path) -> Any:
    import llama_cpp

    worker = _Worker(_Events())  # type: ignore[arg-type]
    worker.load(p.LoadModel(0, str(path), n_ctx=1024, n_threads=1))
    assert worker.llm is not None
    # One thread: both sides run on the same context either way, and a busy machine
    # slows llama.cpp's threads that wait for each other far more than a single one.
    llama_cpp.llama_set_n_threads(worker.llm.ctx, 1, 1)
    return worker


@pytest.fixture(scope="module")
def smol(smol_model: Path) -> Iterator[Any]:
    worker = _load(smol_model)
    yield worker
    worker.unload()
    if worker.renderer is not None:
        worker.renderer.close()


def _stop(worker: Any, params: GenerationParams) -> list[str]:
    return list(dict.fromkeys([*worker.chat_format.stop, *params.stop]))


def _extras(worker: Any, params: GenerationParams) -> tuple[Any, dict[int, float] | None]:
    grammar = json_grammar(worker.llm, params.json_schema) if params.json_schema else None
    return grammar, logit_bias(worker.llm, params.logit_bias)


def _cached(llm: Any) -> tuple[int, ...]:
    return tuple(int(t) for t in llm.input_ids[: llm.n_tokens])


def direct(
    worker: Any, tokens: list[int], params: GenerationParams, *, stop_after: int = 0
) -> Outcome:
    """llama-cpp-python's ``create_completion``, as the worker used to call it."""
    from llama_cpp import StoppingCriteriaList

    llm = worker.llm
    grammar, bias = _extras(worker, params)
    calls = [0]

    def stop_now(_ids: Any, _logits: Any) -> bool:
        calls[0] += 1
        return 0 < stop_after <= calls[0]

    completion = llm.create_completion(
        prompt=tokens,
        max_tokens=params.max_tokens,
        temperature=params.temperature,
        top_p=params.top_p,
        top_k=params.top_k,
        min_p=params.min_p,
        repeat_penalty=params.repeat_penalty,
        seed=params.seed,
        stop=_stop(worker, params),
        stream=False,
        stopping_criteria=StoppingCriteriaList([stop_now]) if stop_after else None,
        grammar=grammar,
        logit_bias=bias,
    )
    choice = completion["choices"][0]
    return Outcome(
        choice["text"],
        str(choice["finish_reason"]),
        int(completion["usage"]["completion_tokens"]),
        _cached(llm),
    )


def fast(
    worker: Any, tokens: list[int], params: GenerationParams, *, stop_after: int = 0
) -> tuple[Outcome, list[str]]:
    """The worker's own loop; also the text pieces it streamed."""
    grammar, bias = _extras(worker, params)
    calls = [0]

    def should_stop() -> bool:
        calls[0] += 1
        return 0 < stop_after <= calls[0]

    loop = TokenLoop(
        worker.llm,
        tokens,
        params,
        max_tokens=params.max_tokens,
        stop=_stop(worker, params),
        grammar=grammar,
        bias=bias,
        should_stop=should_stop,
    )
    pieces = list(loop.texts())
    finish = loop.finish_reason
    outcome = Outcome("".join(pieces), finish, len(loop.tokens), _cached(worker.llm))
    return outcome, pieces


def both(
    worker: Any, messages: list[dict[str, str]], params: GenerationParams, **kwargs: Any
) -> tuple[Outcome, Outcome]:
    tokens = worker.tokenize_messages(messages)
    worker.llm.reset()
    expected = direct(worker, tokens, params, **kwargs)
    worker.llm.reset()
    got, pieces = fast(worker, tokens, params, **kwargs)
    assert all(pieces), "no empty piece is streamed"
    return expected, got


def first_reply_token(worker: Any, messages: list[dict[str, str]]) -> int:
    """The token the model picks first, greedily, for ``messages``."""
    import llama_cpp

    llm = worker.llm
    llm.reset()
    llm.eval(worker.tokenize_messages(messages))
    logits = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    n_vocab = int(llm.n_vocab())
    return max(range(n_vocab), key=lambda i: logits[i])


CASES = {
    "greedy": (QUESTION, GenerationParams(max_tokens=48, temperature=0.0)),
    "greedy-long": (STORY, GenerationParams(max_tokens=128, temperature=0.0)),
    "seeded": (STORY, GenerationParams(max_tokens=96, temperature=0.9, seed=1234)),
    "seeded-hot": (
        STORY,
        GenerationParams(max_tokens=96, temperature=1.6, top_k=0, top_p=1.0, min_p=0.0, seed=7),
    ),
    "penalty": (
        STORY,
        GenerationParams(max_tokens=96, temperature=0.7, repeat_penalty=1.5, seed=3),
    ),
    "stop-strings": (
        STORY,
        GenerationParams(max_tokens=120, temperature=0.8, seed=11, stop=("the", ",", "ing ")),
    ),
    "stop-long-string": (
        QUESTION,
        GenerationParams(max_tokens=64, temperature=0.0, stop=("Paris is the capital",)),
    ),
    "short": (STORY, GenerationParams(max_tokens=3, temperature=0.0)),
    "unicode-greedy": (UNICODE, GenerationParams(max_tokens=96, temperature=0.0)),
    "unicode-sampled": (UNICODE, GenerationParams(max_tokens=96, temperature=1.2, seed=21)),
    "json-object": (
        QUESTION,
        GenerationParams(max_tokens=64, temperature=0.8, seed=5, json_schema=JSON_OBJECT_SCHEMA),
    ),
    "json-schema": (
        QUESTION,
        GenerationParams(
            max_tokens=64,
            temperature=0.0,
            json_schema=json.dumps(
                {
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "people": {"type": "integer"}},
                    "required": ["city", "people"],
                }
            ),
        ),
    ),
    "logit-bias-fraction": (
        STORY,
        GenerationParams(
            max_tokens=48, temperature=0.8, seed=9, logit_bias=((13, 2.5), (28, -0.3), (330, 1.1))
        ),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_reply_as_llama_cpp_python(smol: Any, case: str) -> None:
    messages, params = CASES[case]
    expected, got = both(smol, messages, params)
    assert got == expected
    assert expected.completion_tokens > 0


def test_logit_bias_that_changes_the_greedy_reply(smol: Any) -> None:
    first = first_reply_token(smol, QUESTION)
    params = GenerationParams(max_tokens=24, temperature=0.0, logit_bias=((first, -100.0),))
    expected, got = both(smol, QUESTION, params)
    assert got == expected
    unbiased, _ = both(smol, QUESTION, dataclasses.replace(params, logit_bias=()))
    assert got.text != unbiased.text  # the bias took effect


def test_unseeded_replies_follow_the_same_seeds(smol: Any) -> None:
    params = GenerationParams(max_tokens=32, temperature=0.9, seed=None)
    tokens = smol.tokenize_messages(STORY)
    llm = smol.llm
    replies: dict[str, list[Any]] = {}
    for side, run in (("direct", direct), ("fast", lambda *a: fast(*a)[0])):
        llm.set_seed(4321)
        llm.reset()
        replies[side] = [run(smol, tokens, params), run(smol, tokens, params)]
        replies[side].append(llm._seed)
    assert replies["fast"] == replies["direct"]


def test_stopped_at_once_like_the_stopping_criteria(smol: Any) -> None:
    params = GenerationParams(max_tokens=80, temperature=0.8, seed=2)
    expected, got = both(smol, STORY, params, stop_after=12)
    assert got == expected
    assert got.completion_tokens == 11  # the twelfth token was dropped


def test_cached_prefix_reused_as_llama_cpp_python_does(smol: Any) -> None:
    """A follow-up question reuses the first reply's cached prefix on both paths, and a
    repeated prompt (fully cached) is sampled from the logits still there."""
    first = smol.tokenize_messages(QUESTION)
    params = GenerationParams(max_tokens=24, temperature=0.0)
    results: dict[str, list[Outcome]] = {}
    for side, run in (("direct", direct), ("fast", lambda *a: fast(*a)[0])):
        smol.llm.reset()
        reply = run(smol, first, params)
        follow = smol.tokenize_messages(
            [*QUESTION, {"role": "assistant", "content": reply.text}, *QUESTION]
        )
        results[side] = [reply, run(smol, follow, params), run(smol, follow, params)]
    assert results["fast"] == results["direct"]
    second = results["fast"][1]
    assert len(second.cached) > len(first)


def test_gemma_same_reply_as_llama_cpp_python(gemma_model: Path) -> None:
    worker = _load(gemma_model)
    try:
        for params in (
            GenerationParams(max_tokens=64, temperature=0.0),
            GenerationParams(max_tokens=64, temperature=1.0, seed=17, stop=("\n\n",)),
        ):
            for messages in (UNICODE, STORY):
                expected, got = both(worker, messages, params)
                assert got == expected
    finally:
        worker.unload()
