"""LoRA adapters at run time, on real llama.cpp: the starter model and a tiny adapter.

The worker runs in this process (as in tests/integration/test_engine_decode.py); the
adapter's words mean nothing (random A/B matrices), so the tests compare logits and
greedy tokens with the base model and with llama-cpp-python loading the adapter itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import InvalidModelError, ModelError
from app.core.generation import GenerationParams
from app.core.gguf_meta import read_gguf
from app.engine import protocol as p
from app.engine.lora import adapter_mismatch, check_adapter, is_lora_adapter, parse_lora_arg
from app.engine.worker import _Worker
from tests.fixtures.lora_gguf import write_corrupt_lora, write_foreign_lora, write_tiny_lora

pytestmark = pytest.mark.slow

QUESTION = ({"role": "user", "content": "What is the capital of France?"},)
GREEDY = GenerationParams(max_tokens=12, temperature=0.0, seed=1)


@dataclasses.dataclass(frozen=True)
class Adapters:
    one: Path
    two: Path
    foreign: Path
    corrupt: Path


class _Events:
    def __init__(self) -> None:
        self.sent: list[p.Event] = []

    def send(self, event: p.Event) -> None:
        self.sent.append(event)


@pytest.fixture(scope="module")
def adapters(tmp_path_factory: pytest.TempPathFactory) -> Adapters:
    folder = tmp_path_factory.mktemp("lora")
    one = write_tiny_lora(folder / "one-lora.gguf", std=0.15, seed=0)
    return Adapters(
        one=one,
        two=write_tiny_lora(folder / "two-lora.gguf", layers=(2, 3, 4), std=0.15, seed=7),
        foreign=write_foreign_lora(folder / "foreign-lora.gguf"),
        corrupt=write_corrupt_lora(one, folder / "corrupt-lora.gguf"),
    )


def _load(path: Path) -> Any:
    worker = _Worker(_Events())  # type: ignore[arg-type]
    worker.load(p.LoadModel(0, str(path), n_ctx=1024, n_threads=1))
    assert worker.llm is not None
    return worker


def _close(worker: Any) -> None:
    worker.unload()
    if worker.renderer is not None:
        worker.renderer.close()


@pytest.fixture(scope="module")
def smol(smol_model: Path) -> Iterator[Any]:
    worker = _load(smol_model)
    worker.llama_log.install()  # as the worker process does: llama.cpp's reasons
    try:
        yield worker
    finally:
        _close(worker)
        # llama-cpp-python's own callback again: llama.cpp must never call a freed one.
        import ctypes

        import llama_cpp
        from llama_cpp import _logger

        llama_cpp.llama_log_set(_logger.llama_log_callback, ctypes.c_void_p(0))


def reply(
    worker: Any,
    params: GenerationParams = GREEDY,
    messages: tuple[dict[str, str], ...] = QUESTION,
    **changes: Any,
) -> p.GenerationDone:
    worker.conn.sent.clear()
    worker.generate(p.Generate(1, messages, dataclasses.replace(params, **changes)))
    done = worker.conn.sent[-1]
    assert isinstance(done, p.GenerationDone), done
    return done


def first_top(worker: Any, loras: tuple[tuple[str, float], ...]) -> dict[str, float]:
    done = reply(worker, max_tokens=1, logprobs=5, loras=loras)
    assert done.logprobs
    return {t.token: t.logprob for t in done.logprobs[0].top}


def test_scale_zero_equals_base_and_scale_one_differs(smol: Any, adapters: Adapters) -> None:
    base = first_top(smol, ())
    zero = first_top(smol, ((str(adapters.one), 0.0),))
    one = first_top(smol, ((str(adapters.one), 1.0),))
    again = first_top(smol, ())
    assert zero == base
    assert one != base
    assert max(abs(one.get(k, -99.0) - v) for k, v in base.items()) > 1e-3
    assert again == base  # off again: the base model's logits, not a cached prefix's


def test_switching_needs_no_reload_and_equals_a_fresh_load(
    smol: Any, adapters: Adapters, smol_model: Path
) -> None:
    one, two = ((str(adapters.one), 1.0),), ((str(adapters.two), 0.8),)
    llm = smol.llm
    loads = smol.adapters.loads
    reply(smol, loras=one)
    switched = reply(smol, loras=two)  # the prefix cached under `one` must not be reused
    back = reply(smol, loras=one)
    assert smol.llm is llm  # the same model object: no reload
    assert not any(isinstance(e, p.ModelLoaded) for e in smol.conn.sent)
    assert smol.adapters.loads - loads <= 2  # each adapter read once for the model's life
    assert smol.stats()["lora_loads"] == smol.adapters.loads
    assert smol.stats()["loras"] == [[str(adapters.one.resolve()), 1.0]]
    fresh = _load(smol_model)
    try:
        assert reply(fresh, loras=two).text == switched.text
        assert reply(fresh, loras=one).text == back.text
    finally:
        _close(fresh)


def test_equals_llama_cpp_loading_the_adapter_at_start(
    smol: Any, adapters: Adapters, smol_model: Path
) -> None:
    import llama_cpp

    mine = reply(smol, loras=((str(adapters.one), 1.0),))
    tokens = smol.tokenize_messages(list(QUESTION), GREEDY)
    theirs = llama_cpp.Llama(
        str(smol_model),
        n_ctx=1024,
        n_threads=1,
        lora_path=str(adapters.one),
        lora_scale=1.0,
        verbose=False,
    )
    try:
        completion = theirs.create_completion(
            prompt=tokens,
            max_tokens=GREEDY.max_tokens,
            temperature=0.0,
            repeat_penalty=GREEDY.repeat_penalty,
            seed=GREEDY.seed,
            stop=list(smol.chat_format.stop),
        )
        text = completion["choices"][0]["text"]  # type: ignore[index]
        base = reply(smol, loras=())
    finally:
        theirs.close()
    assert mine.text == text
    assert mine.text != base.text  # the adapter changed the greedy reply itself


def test_saved_conversation_state_is_not_used_under_adapters(
    smol: Any, adapters: Adapters, smol_model: Path, tmp_path: Path
) -> None:
    """States saved to disk (engine.kv_state) hold the base model's keys and values:
    a reply with adapters neither restores nor saves one; without them, it restores."""
    long = ({"role": "system", "content": "You answer briefly and carefully. " * 12}, *QUESTION)
    one = ((str(adapters.one), 1.0),)
    saved = "conversation:1"  # a stored conversation's replies: their state may be saved
    worker = _Worker(_Events())  # type: ignore[arg-type]
    worker.load(
        p.LoadModel(
            0,
            str(smol_model),
            n_ctx=1024,
            n_threads=1,
            kv_state_dir=str(tmp_path / "kv"),
            kv_state_mb=64,
        )
    )
    try:
        store = worker.kv_store
        assert store is not None
        base = reply(worker, messages=long, kv_key=saved)
        store.flush()
        assert store.saved == 1
        with_lora = reply(worker, messages=long, loras=one, kv_key=saved)
        store.flush()
        assert store.restored_tokens == 0 and store.saved == 1
        assert with_lora.text == reply(smol, messages=long, loras=one).text
        # The set changed back: the saved state fits.
        again = reply(worker, messages=long, kv_key=saved)
        assert store.restored_tokens > 0
        assert again.text == base.text
    finally:
        _close(worker)


@pytest.mark.parametrize(
    ("which", "error", "words"),
    [
        ("foreign", ModelError, "made for another base model"),
        ("corrupt", InvalidModelError, "truncated"),
    ],
)
def test_bad_adapter_is_one_sentence_and_the_base_still_answers(
    smol: Any, adapters: Adapters, which: str, error: type[Exception], words: str
) -> None:
    base = reply(smol, loras=())
    path = getattr(adapters, which)
    with pytest.raises(error, match=words) as caught:
        reply(smol, loras=((str(adapters.one), 1.0), (str(path), 1.0)))
    message = str(caught.value)
    assert message.endswith(".") and len(message) < 300
    assert message.startswith(path.name)
    assert smol.adapters.applied == ()  # nothing of the refused set was applied
    assert reply(smol, loras=()).text == base.text


def test_llama_cpp_refusal_is_a_sentence(smol: Any, tmp_path: Path) -> None:
    """A file whose pairs fit but that llama.cpp refuses (a tensor it cannot place):
    llama.cpp's own reason in one sentence, and the base model still answers."""
    import gguf
    import numpy as np

    path = tmp_path / "odd-lora.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, 8.0)
    writer.add_tensor("blk.0.attn_q.weight.lora_a", np.zeros((4, 576), np.float32))
    writer.add_tensor("blk.0.attn_q.weight.lora_b", np.zeros((576, 4), np.float32))
    writer.add_tensor("blk.0.attn_q.weight.lora_c", np.zeros((4,), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    base = reply(smol, loras=())
    with pytest.raises(ModelError, match="unexpected suffix") as caught:
        reply(smol, loras=((str(path), 1.0),))
    assert str(caught.value).count(". ") == 0
    assert reply(smol, loras=()).text == base.text


def test_header_checks(smol_model: Path, adapters: Adapters) -> None:
    base = read_gguf(smol_model)
    adapter = read_gguf(adapters.one)
    assert is_lora_adapter(adapter) and not is_lora_adapter(base)
    assert adapter_mismatch(adapter, base) is None
    check_adapter(adapter, base)
    foreign = read_gguf(adapters.foreign)
    assert "576" in (adapter_mismatch(foreign, base) or "")
    with pytest.raises(InvalidModelError, match="not a LoRA adapter"):
        check_adapter(base, base)


def test_parse_lora_arg() -> None:
    assert parse_lora_arg("a.gguf") == ("a.gguf", 1.0)
    assert parse_lora_arg("a.gguf:0.5") == ("a.gguf", 0.5)
    assert parse_lora_arg(r"C:\x\a.gguf") == (r"C:\x\a.gguf", 1.0)
    assert parse_lora_arg(r"C:\x\a.gguf:2") == (r"C:\x\a.gguf", 2.0)
