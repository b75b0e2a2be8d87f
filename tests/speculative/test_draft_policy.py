"""Prompt lookup drafts only where it pays (engine.draft_policy): by the cost of a batch
measured against a one-token decode, and by how long the reply's copies of its context
run. Unit tests of the arithmetic, then the real starter model: the reply stays the
plain loop's token for token (n_ubatch=1), copies are drafted, and where batches cost
what their tokens do alone (n_ubatch=1: llama.cpp computes them one by one) drafting
stops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.generation import GenerationParams
from app.engine.decode import TokenLoop
from app.engine.draft_policy import RECOVER_AFTER, CopyOdds, DecodeCosts, draft_length
from app.engine.speculative import PromptLookup
from tests.bench.lookup_prompts import PROMPTS
from tests.fixtures.models import smollm2_path

STOP = ["<|im_end|>"]
COPY = "Repeat this list exactly, line by line:\n" + "\n".join(
    f"{i}. the {w} is on the table"
    for i, w in enumerate(["cup", "book", "pen", "lamp", "phone", "key", "plate", "bottle"] * 2)
)


REWRITE = next(prompt for kind, prompt, _ in PROMPTS if kind == "rewrite")


def flat(sizes: int = 17) -> DecodeCosts:
    """Costs as on a GPU: a batch of any size takes what one token does."""
    costs = DecodeCosts()
    for k in range(1, sizes + 1):
        costs.observe(k, 0.01)
    return costs


def copying(run: int) -> CopyOdds:
    """Odds after ``run`` foreseen tokens in a row."""
    odds = CopyOdds()
    for _ in range(run):
        odds.observe(True)
    return odds


# --- the arithmetic --------------------------------------------------------------------
def test_costs_are_measured_ratios_interpolated_between_sizes() -> None:
    costs = DecodeCosts()
    assert costs.ratio(1) == 1.0
    assert costs.ratio(2) > 1.5  # before any measurement: a small CPU's costs
    costs.observe(3, 0.020)
    assert not costs.ratios  # no one-token decode to compare it with yet
    costs.observe(1, 0.010)
    costs.observe(3, 0.020)
    costs.observe(9, 0.050)
    assert costs.ratio(3) == pytest.approx(2.0)
    assert costs.ratio(6) == pytest.approx(3.5)  # halfway between 3 and 9
    # Beyond the largest size: no dearer than it until measured, so it is tried.
    assert costs.ratio(12) == costs.ratio(9)
    assert costs.ratio(2) < costs.ratio(3)  # below the smallest: the prior's shape, scaled
    costs.observe(3, 0.030)
    assert costs.ratio(3) == pytest.approx(2.2)  # a moving average
    costs.observe(3, 10.0)  # one decode caught behind another program
    assert costs.ratio(3) == pytest.approx(2.2 + 0.2 * (3 * 2.2 - 2.2))  # thrice, not 1000
    costs.observe(1, 0.020)  # the machine got busier: ratios stay
    assert costs.ratio(3) == pytest.approx(2.2 + 0.2 * (3 * 2.2 - 2.2))


def test_costs_poisoned_by_a_busy_moment_recover_and_drafting_resumes() -> None:
    """Batches caught behind other programs make drafting look too dear; with no batch
    measured again, the estimate drifts back to the prior and a draft is tried again."""
    odds = CopyOdds()
    for _ in range(40):  # a reply that copies its prompt in long runs
        odds.observe(True)
    costs = DecodeCosts()
    costs.observe(1, 0.010)
    assert draft_length(odds, costs, 8) > 0
    for _ in range(20):  # every batch of 9 measured on a busy machine
        costs.observe(9, 10.0)
    assert draft_length(odds, costs, 8) == 0
    poisoned = costs.ratio(9)
    for _ in range(RECOVER_AFTER - 1):
        costs.observe(1, 0.010)
    assert costs.ratio(9) == poisoned  # not yet
    costs.observe(1, 0.010)
    assert costs.ratio(9) < poisoned
    for _ in range(40 * RECOVER_AFTER):
        costs.observe(1, 0.010)
    assert draft_length(odds, costs, 8) > 0  # tried again
    assert costs.ratio(9) >= _prior_of(9)  # never below the prior by recovering
    costs.observe(9, 0.1)  # measured again on a busy machine: 10x, capped at thrice
    assert costs.ratio(9) > _prior_of(9)


def _prior_of(tokens: int) -> float:
    return DecodeCosts().ratio(tokens)


def test_a_size_that_came_out_dear_does_not_keep_drafts_short() -> None:
    """Gemma 3 270M on 2 threads here: 5 tokens cost 3.3-4.1 one-token decodes, 8 only
    3.5-3.8. Longer drafts than the dear size are still tried, and once measured cheap,
    kept."""
    costs = DecodeCosts()
    costs.observe(1, 0.010)
    costs.observe(2, 0.019)
    costs.observe(5, 0.041)
    assert draft_length(copying(10), costs, 16) > 4  # tried, though 5 came out dear
    costs.observe(9, 0.042)
    assert costs.ratio(9) == pytest.approx(4.2)
    assert draft_length(copying(40), costs, 16) >= 8


def test_the_odds_learn_from_the_reply() -> None:
    odds = CopyOdds()
    prior = odds.chance(0)
    for _ in range(20):
        odds.observe(False)
    assert odds.chance(0) < prior and odds.run == 0
    long_run = copying(30)
    assert long_run.run == 30
    assert long_run.chance(30) > 0.95
    long_run.observe(None)  # nothing foreseen: the run ends, no odds change
    assert long_run.run == 0


def test_drafts_only_where_the_expected_tokens_beat_the_batch_cost() -> None:
    costly = DecodeCosts()  # the prior: a 2-token batch costs 1.85 one-token decodes
    assert draft_length(CopyOdds(), costly, 16) == 0  # no copy seen: never
    assert draft_length(copying(40), costly, 16) >= 8  # a long copy: a long draft
    assert draft_length(copying(40), costly, 0) == 0
    # Where batches are free, a run of a few foreseen tokens is enough.
    assert draft_length(copying(3), flat(), 16) >= 4
    # Where each token costs as much in a batch as alone, nothing ever pays.
    linear = DecodeCosts()
    for k in range(1, 18):
        for _ in range(10):
            linear.observe(k, 0.01 * k)
    assert draft_length(copying(1000), linear, 16) == 0


def test_the_lookup_foresees_tokens_it_does_not_draft() -> None:
    lookup = PromptLookup(max_ngram=2, min_ngram=1)
    lookup.extend([1, 2, 3, 4, 5, 6, 7, 8])  # the prompt: nothing is foreseen in it
    assert lookup.odds.seen == [0] * len(lookup.odds.seen)
    assert lookup.draft(8) == []  # (8,) never came before
    lookup.extend([1])
    lookup.extend([2])  # after (1,): 2 was foreseen
    lookup.extend([3])
    assert lookup.odds.run == 2
    lookup.extend([9])  # 4 was foreseen
    assert lookup.odds.run == 0
    assert sum(lookup.odds.seen) == 3 and sum(lookup.odds.hits) == 2
    assert lookup.drafted == 0  # foreseeing drafts nothing


def test_adaptive_drafts_follow_the_costs() -> None:
    text = list(range(100, 160))
    gpu = PromptLookup(costs=flat())
    gpu.extend(text)
    gpu.extend(text[:12])  # the reply copies the prompt
    assert len(gpu.draft(16)) == 16
    cpu = PromptLookup()  # the prior: a small CPU
    cpu.extend(text)
    cpu.extend(text[:3])
    assert cpu.draft(16) == []  # 3 tokens of copy do not pay there yet


# --- the real starter model ------------------------------------------------------------
def chatml(llm: Any, text: str) -> list[int]:
    prompt = f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"
    return list(llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))


@pytest.fixture(scope="module")
def exact() -> Iterator[Any]:
    import llama_cpp

    llm = llama_cpp.Llama(
        str(smollm2_path()), n_ctx=1024, n_batch=512, n_ubatch=1, n_threads=1, verbose=False
    )
    yield llm
    llm.close()


def run(llm: Any, prompt: list[int], params: GenerationParams, drafter: Any) -> tuple[Any, ...]:
    llm.reset()
    loop = TokenLoop(llm, prompt, params, max_tokens=params.max_tokens, stop=STOP, drafter=drafter)
    text = "".join(loop.texts())
    return text, tuple(loop.tokens), loop.finish_reason, loop.sampled


@pytest.mark.slow
@pytest.mark.parametrize(
    "params",
    [
        GenerationParams(max_tokens=120, temperature=0.0),
        GenerationParams(max_tokens=120, temperature=0.8, seed=1234),
    ],
    ids=["greedy", "seeded"],
)
def test_adaptive_lookup_gives_the_plain_reply_and_drafts_the_copy(
    exact: Any, params: GenerationParams
) -> None:
    """Costs as on a GPU (flat, until the loop measures its own): the copy is drafted,
    and the reply is the plain loop's, token for token."""
    prompt = chatml(exact, COPY)
    plain = run(exact, prompt, params, None)
    drafter = PromptLookup(costs=flat())
    assert run(exact, prompt, params, drafter) == plain
    assert drafter.accepted > 0
    assert drafter.odds.run > 0 or sum(drafter.odds.hits) > 0


@pytest.mark.slow
def test_drafting_stops_where_batches_cost_what_their_tokens_do(exact: Any) -> None:
    """With n_ubatch=1 llama.cpp decodes a batch one token at a time, so a batch of k
    costs about k decodes: the loop measures it, and the next reply drafts less than
    the first (here: 11 tokens, then none), though both copy their prompt."""
    prompt = chatml(exact, REWRITE)  # the starter copies the paragraph whole
    params = GenerationParams(max_tokens=160, temperature=0.0)
    plain = run(exact, prompt, params, None)
    costs = DecodeCosts()
    first = PromptLookup(costs=costs)
    assert run(exact, prompt, params, first) == plain
    assert first.drafted > 0 and costs.ratios
    assert costs.ratio(max(costs.ratios)) > 0.6 * max(costs.ratios)  # measured: near k
    again = PromptLookup(costs=costs)  # the next reply, with what was measured
    assert run(exact, prompt, params, again) == plain
    assert again.drafted < first.drafted / 2


class _Events:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, event: Any) -> None:
        self.sent.append(event)


@pytest.mark.slow
def test_the_worker_measures_batch_costs_across_a_models_replies(smol_model: Path) -> None:
    """LoadModel.draft="lookup": every reply's lookup shares the loaded model's costs, the
    token loop times its decodes into them, and another load starts afresh."""
    from app.engine import protocol as p
    from app.engine.worker import _Worker

    events = _Events()
    worker = _Worker(events)  # type: ignore[arg-type]
    try:
        worker.load(p.LoadModel(0, str(smol_model), n_ctx=1024, n_threads=1, draft="lookup"))
        costs = worker.decode_costs
        messages = ({"role": "user", "content": COPY},)
        worker.generate(p.Generate(1, messages, GenerationParams(max_tokens=24, temperature=0.0)))
        assert isinstance(events.sent[-1], p.GenerationDone)
        assert costs.one  # one-token decodes were timed
        drafter = worker._drafter()
        assert isinstance(drafter, PromptLookup) and drafter.costs is costs and drafter.adaptive
        worker.unload()
        assert worker.decode_costs is not costs and worker.decode_costs.one is None
    finally:
        worker.unload()
        if worker.renderer is not None:
            worker.renderer.close()
