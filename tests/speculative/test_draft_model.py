"""Speculative decoding with a draft model (engine.draft_model), on the starter model and
drafts cut from it (tests/fixtures/draft_gguf.py).

As in test_prompt_lookup, the exact tests run the main model on a context whose
micro-batch is one token (``n_ubatch=1``): a draft's positions then get the logits the
plain loop computes, so the reply, its finish reason, its token count and the KV cache
afterwards must equal the plain loop's, token for token. The draft model only proposes;
whether it guesses well changes the speed, never the reply.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from app.core.errors import ConfigError
from app.core.generation import JSON_OBJECT_SCHEMA, GenerationParams
from app.engine import protocol as p
from app.engine.decode import TokenLoop
from app.engine.draft_model import MAX_PAUSE, DraftModel, ModelDrafter, check_vocab
from app.engine.sampling import json_grammar
from tests.fixtures.draft_gguf import starter_tokens, write_foreign_draft, write_starter_draft
from tests.fixtures.models import smollm2_path
from tests.integration.test_cli_real import hearth
from tests.speculative.test_worker_draft import _close
from tests.speculative.test_worker_draft import _load as _worker

pytestmark = pytest.mark.slow

STOP = ["<|im_end|>"]
CODE = "\n".join(f"    x = x + {i}  # step {i}" for i in range(24))
PROMPTS = {
    "code-edit": f"Rename the variable x to count in this function:\n\ndef f(x):\n{CODE}\n"
    "    return x\n",
    "copy": "Repeat this list exactly, line by line:\n"
    + "\n".join(
        f"{i}. the {w} is on the table" for i, w in enumerate(["cup", "book", "pen", "lamp"] * 3)
    ),
    "question": "What is the capital of France?",
}
DRAFT_BLOCKS = 6  # of the starter's 30


def chatml(llm: Any, text: str) -> list[int]:
    prompt = f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"
    return list(llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))


@dataclasses.dataclass(frozen=True)
class Outcome:
    text: str
    tokens: tuple[int, ...]
    finish_reason: str
    sampled: int
    cached: tuple[int, ...]  # the main model's llm.input_ids[:n_tokens] afterwards


def reply(
    llm: Any,
    prompt: list[int],
    params: GenerationParams,
    drafter: ModelDrafter | None,
    *,
    stop_after: int = 0,
    grammar: Any = None,
    reset: bool = True,
) -> Outcome:
    if reset:
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
    text = "".join(loop.texts())
    cached = tuple(int(t) for t in llm.input_ids[: llm.n_tokens])
    return Outcome(text, tuple(loop.tokens), loop.finish_reason, loop.sampled, cached)


@pytest.fixture(scope="module")
def draft_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("draft")
    return write_starter_draft(folder / "starter-draft.gguf", DRAFT_BLOCKS)


@pytest.fixture(scope="module")
def foreign_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_foreign_draft(tmp_path_factory.mktemp("foreign") / "foreign-draft.gguf")


@pytest.fixture(scope="module")
def exact() -> Iterator[Any]:
    import llama_cpp

    llm = llama_cpp.Llama(
        str(smollm2_path()), n_ctx=1024, n_batch=512, n_ubatch=1, n_threads=1, verbose=False
    )
    yield llm
    llm.close()


def _open(target: Any, path: Path) -> DraftModel:
    return DraftModel.open(target, str(path), n_ctx=1024, n_threads=1, n_threads_batch=1)


@pytest.fixture(scope="module")
def loaded_draft(exact: Any, draft_path: Path) -> Iterator[DraftModel]:
    model = _open(exact, draft_path)
    yield model
    model.close()


@pytest.fixture
def draft(loaded_draft: DraftModel) -> DraftModel:
    """The draft model guessing whatever its confidence (``p_min`` 0: every verification
    path runs, rejections most), from a fresh length and no pause."""
    loaded_draft.p_min = 0.0
    loaded_draft.length, loaded_draft.pause, loaded_draft.resting = 4, 0, 0
    return loaded_draft


# --- the draft fixture and the vocabulary check ---------------------------------------


def test_the_draft_is_the_starter_cut_short(draft_path: Path) -> None:
    import gguf

    source = gguf.GGUFReader(str(smollm2_path()), "r")
    cut = gguf.GGUFReader(str(draft_path), "r")
    assert int(cut.fields["llama.block_count"].contents()) == DRAFT_BLOCKS
    kept = {t.name: t for t in cut.tensors}
    assert not any(name.startswith(f"blk.{DRAFT_BLOCKS}.") for name in kept)
    for tensor in source.tensors:  # the kept tensors byte for byte, quantised types kept
        if tensor.name in kept:
            assert kept[tensor.name].tensor_type == tensor.tensor_type
            assert bytes(kept[tensor.name].data) == bytes(tensor.data)
    assert {"token_embd.weight", "output_norm.weight"} <= set(kept)


def test_the_starter_draft_fits(exact: Any, draft_path: Path) -> None:
    check_vocab(exact, str(draft_path))  # no error


def _edited_tokens(index: int) -> list[str]:
    tokens = starter_tokens()
    tokens[index] = tokens[index] + "_draft"
    return tokens


@pytest.mark.parametrize(
    ("kind", "clause"),
    [
        ("foreign", "because it uses another kind of tokenizer"),
        ("bos", "because its beginning-of-text token differs"),
        ("size", "because its vocabulary has 48952 tokens, the model's 49152"),
        ("text", "because its token 1000 differs"),
    ],
)
def test_a_draft_with_another_vocabulary_is_refused(
    exact: Any, foreign_path: Path, tmp_path: Path, kind: str, clause: str
) -> None:
    if kind == "foreign":
        path = foreign_path
    else:
        variants: dict[str, dict[str, Any]] = {
            "bos": {"tokenizer.ggml.add_bos_token": True},
            "size": {"tokenizer.ggml.tokens": starter_tokens()[:-200]},
            "text": {"tokenizer.ggml.tokens": _edited_tokens(1000)},
        }
        path = write_starter_draft(tmp_path / f"{kind}.gguf", 1, replace=variants[kind])
    with pytest.raises(ConfigError) as caught:
        check_vocab(exact, str(path))
    message = str(caught.value)
    assert message.startswith(f"The draft model {path.name} cannot draft for this model {clause}")
    assert message.endswith("choose a draft of the same model family, or use --draft lookup.")


def test_draft_length_and_rests_adapt() -> None:
    llm = SimpleNamespace(model_path="d.gguf", n_vocab=lambda: 8)
    model = DraftModel(llm, target_vocab=8)
    assert model.length == 4
    model.record(4, 4)  # taken whole: longer
    assert model.length == 8
    model.record(8, 0)
    model.record(4, 0)
    model.record(2, 0)
    assert (model.length, model.pause, model.resting) == (1, 0, 0)
    model.record(1, 0)  # a miss at length 1: rest one token, then two, four ...
    assert (model.pause, model.resting) == (1, 1)
    model.record(1, 0)
    model.record(1, 0)
    assert (model.pause, model.resting) == (4, 4)
    for _ in range(10):
        model.missed()
    assert model.pause == MAX_PAUSE
    model.record(1, 1)  # a guess taken: no more rests
    assert (model.pause, model.length) == (0, 2)
    drafter = model.drafter()
    drafter.extend([1, 2, -5])  # an image's placeholder: nothing drafted for this reply
    assert drafter.draft(4) == []
    assert model.acceptance == pytest.approx(5 / 22)


# --- exact: the plain loop's reply, token for token -----------------------------------

CASES = {
    "code-edit-greedy": ("code-edit", GenerationParams(max_tokens=120, temperature=0.0)),
    "copy-greedy": ("copy", GenerationParams(max_tokens=100, temperature=0.0)),
    "question-greedy": ("question", GenerationParams(max_tokens=40, temperature=0.0)),
    "copy-stop-strings": (
        "copy",
        GenerationParams(max_tokens=100, temperature=0.0, stop=("lamp is", "pen")),
    ),
    "copy-max-tokens-7": ("copy", GenerationParams(max_tokens=7, temperature=0.0)),
    "copy-seeded": ("copy", GenerationParams(max_tokens=80, temperature=0.8, seed=1234)),
    "code-edit-penalty": (
        "code-edit",
        GenerationParams(max_tokens=80, temperature=0.7, repeat_penalty=1.3, seed=3),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_reply_as_the_plain_loop(exact: Any, draft: DraftModel, case: str) -> None:
    name, params = CASES[case]
    prompt = chatml(exact, PROMPTS[name])
    plain = reply(exact, prompt, params, None)
    drafter = draft.drafter()
    drafted = reply(exact, prompt, params, drafter)
    assert drafted == plain
    assert plain.tokens
    if len(plain.tokens) > 20:
        assert drafter.drafted > 0, "the draft model proposed tokens: verification ran"


def test_grammar_reply_equal(exact: Any, draft: DraftModel) -> None:
    params = GenerationParams(max_tokens=48, temperature=0.0, json_schema=JSON_OBJECT_SCHEMA)
    grammar = json_grammar(exact, JSON_OBJECT_SCHEMA)
    prompt = chatml(exact, PROMPTS["copy"])
    plain = reply(exact, prompt, params, None, grammar=grammar)
    drafted = reply(exact, prompt, params, draft.drafter(), grammar=grammar)
    assert drafted == plain
    assert plain.text.lstrip().startswith("{")


@pytest.mark.parametrize("stop_after", [1, 9, 30])
def test_cancel_at_the_next_token(exact: Any, draft: DraftModel, stop_after: int) -> None:
    params = GenerationParams(max_tokens=100, temperature=0.0)
    prompt = chatml(exact, PROMPTS["copy"])
    plain = reply(exact, prompt, params, None, stop_after=stop_after)
    drafted = reply(exact, prompt, params, draft.drafter(), stop_after=stop_after)
    assert drafted == plain
    if drafted.finish_reason == "stop" and drafted.sampled == stop_after:
        # The token sampled at the cancel is dropped (unless the reply ended before it).
        assert len(drafted.tokens) == stop_after - 1


def test_the_model_itself_as_draft_is_nearly_always_right(exact: Any) -> None:
    """A draft that is the main model guesses its greedy tokens: nearly every confident
    guess is taken (a near tie may differ between a batch and a single decode)."""
    params = GenerationParams(max_tokens=100, temperature=0.0)
    prompt = chatml(exact, PROMPTS["code-edit"])
    plain = reply(exact, prompt, params, None)
    same = _open(exact, smollm2_path())
    try:
        drafter = same.drafter()
        drafted = reply(exact, prompt, params, drafter)
    finally:
        same.close()
    assert drafted == plain
    assert drafter.drafted > len(plain.tokens) // 2
    assert drafter.acceptance > 0.9


def test_a_follow_up_turn_reuses_the_drafts_cache(exact: Any, draft: DraftModel) -> None:
    """The draft model's cache keeps the conversation: the second turn decodes only its
    new tokens in the draft (and a rejected tail never stays in it)."""
    params = GenerationParams(max_tokens=60, temperature=0.0)
    first_prompt = chatml(exact, PROMPTS["copy"])
    first = reply(exact, first_prompt, params, draft.drafter())
    follow = "<|im_end|>\n<|im_start|>user\nNow only the first line.<|im_end|>\n"
    follow_up = [
        *first.cached[: len(first_prompt)],
        *first.tokens,
        *exact.tokenize((follow + "<|im_start|>assistant\n").encode(), add_bos=False, special=True),
    ]
    evaluated: list[int] = []
    original = draft.llm.eval

    def counting(tokens: Any) -> None:
        evaluated.append(len(tokens))
        original(tokens)

    draft.llm.eval = counting
    try:
        plain = reply(exact, follow_up, params, None)
        drafted = reply(exact, follow_up, params, draft.drafter())
    finally:
        del draft.llm.eval
    assert drafted == plain
    new_tokens = len(follow_up) - len(first_prompt) - len(first.tokens)
    # The first draft of the turn decodes the new turn's tokens (and those of the first
    # reply that the draft's cache had not seen while resting), never the first prompt.
    assert evaluated and new_tokens <= evaluated[0] <= len(follow_up) - len(first_prompt)
    held = [int(t) for t in draft.llm.input_ids[: draft.llm.n_tokens]]
    assert held[: len(follow_up)] == follow_up


# --- the engine worker: load, reply, refuse, free ------------------------------------


def _answer(worker: Any, params: GenerationParams) -> p.GenerationDone:
    worker.conn.sent.clear()
    worker.generate(p.Generate(1, ({"role": "user", "content": PROMPTS["copy"]},), params))
    done = worker.conn.sent[-1]
    assert isinstance(done, p.GenerationDone), done
    return done


def test_the_worker_drafts_with_a_draft_model(smol_model: Path, draft_path: Path) -> None:
    worker = _worker(smol_model, str(draft_path))
    try:
        assert worker.loaded.draft == str(draft_path)
        assert worker.draft_model is not None
        done = _answer(worker, GenerationParams(max_tokens=60, temperature=0.0))
        assert done.stats.completion_tokens == 60 or done.finish_reason == "stop"
        stats = worker.stats()
        assert stats["draft"] == str(draft_path)
        assert stats["draft_drafted"] > 0
        assert 0 <= stats["draft_accepted"] <= stats["draft_drafted"]
        draft_llm = worker.draft_model.llm
    finally:
        _close(worker)
    assert worker.draft_model is None
    assert draft_llm._model.model is None  # llama.cpp freed the draft with the model


def test_a_foreign_draft_is_refused_and_the_model_answers(
    smol_model: Path, foreign_path: Path
) -> None:
    worker = _worker(smol_model, str(foreign_path))
    try:
        assert worker.loaded.draft is None
        assert worker.draft_model is None
        notice = worker.loaded.notice or ""
        assert (
            "The draft model foreign-draft.gguf cannot draft for this model because it uses "
            "another kind of tokenizer" in notice
        )
        assert notice.endswith("Replies are not drafted.")
        done = _answer(worker, GenerationParams(max_tokens=8, temperature=0.0))
        assert done.text and done.stats.completion_tokens > 0
    finally:
        _close(worker)


# --- hearth chat --draft MODEL, as a user runs it ---------------------------------------


def test_cli_one_shot_with_a_draft_model(smol_model: Path, draft_path: Path) -> None:
    args = (
        "chat",
        "--model",
        str(smol_model),
        "--prompt",
        "Count from one to ten.",
        "--max-tokens",
        "24",
        "--temperature",
        "0",
        "--ctx",
        "1024",
        "--json",
    )
    plain = hearth(*args)
    drafted = hearth(*args, "--draft", str(draft_path))
    assert plain.returncode == 0, plain.stderr
    assert drafted.returncode == 0, drafted.stderr
    plain_out, drafted_out = json.loads(plain.stdout), json.loads(drafted.stdout)
    assert drafted_out["draft"] == str(draft_path)
    assert plain_out["draft"] is None
    assert drafted_out["text"].strip()
    assert drafted_out["stats"]["completion_tokens"] > 0


def test_cli_refuses_a_missing_draft(smol_model: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.gguf"
    result = hearth("chat", "--model", str(smol_model), "-p", "Hi", "--draft", str(missing))
    assert result.returncode != 0
    assert f"No draft model at {missing}" in result.stderr or "No model file at" in result.stderr
    assert "Traceback" not in result.stderr
