"""The translation seam below the widgets (app.core.i18n): English until a translator is
installed, translated before it is filled in, and made again in the window's language
after crossing the engine worker's pipe in English."""

from __future__ import annotations

import pickle
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core import i18n
from app.core.errors import InvalidModelError, error_from_kind
from app.core.i18n import Sentence, english, localize, translate
from app.engine.hardware import GIB, GPUInfo
from app.engine.planner import plan_offload
from tests.unit.test_planner import machine, nvidia, synthetic

TS = Path(__file__).resolve().parents[2] / "assets" / "translations" / "hearth_zh_CN.ts"


def catalogue(path: Path = TS) -> Callable[[str, str], str]:
    """A translator reading the .ts itself (no Qt): what the window's Qt translator does."""
    table = {
        (context.findtext("name"), message.findtext("source")): message.findtext("translation")
        for context in ET.parse(path).getroot().iter("context")
        for message in context.iter("message")
    }
    return lambda context, text: table.get((context, text)) or text


@pytest.fixture(autouse=True)
def english_again() -> Iterator[None]:
    yield
    i18n.install(None)


def test_without_a_translator_every_sentence_is_english() -> None:
    assert not i18n.installed()
    made = translate("Plan", "GPU layers are set to {n}").format(n=3)
    assert made == "GPU layers are set to 3"
    assert isinstance(made, Sentence) and made.source == "GPU layers are set to {n}"


def test_the_text_is_translated_before_it_is_filled_in() -> None:
    seen: list[tuple[str, str]] = []

    def translator(context: str, text: str) -> str:
        seen.append((context, text))
        return {"GPU layers are set to {n}": "GPU 层数设为 {n}"}.get(text, text)

    i18n.install(translator)
    assert translate("Plan", "GPU layers are set to {n}").format(n=3) == "GPU 层数设为 3"
    assert seen == [("Plan", "GPU layers are set to {n}")]


def test_a_sentence_made_in_english_is_made_again_in_the_window_language() -> None:
    # The engine worker: no translator, a sentence inside a sentence.
    reason = translate("Plan", "GPU layers are set to 0")
    plan = translate("Plan", "CPU only: {reason}; needs {ram}{projector}{draft}").format(
        reason=reason, ram="1.2 GB", projector="", draft=""
    )
    crossed = pickle.loads(pickle.dumps(plan))  # the worker's pipe
    assert crossed == "CPU only: GPU layers are set to 0; needs 1.2 GB"
    i18n.install(catalogue())
    assert localize(crossed) == "仅 CPU：GPU 层数设为 0；需要 1.2 GB"
    assert english(localize(crossed)) == crossed
    assert localize("a plain str") == "a plain str"


def test_an_error_message_keeps_its_sentence_through_str_and_the_pipe() -> None:
    error = InvalidModelError(translate("Plan", "GPU layers are set to {n}").format(n=2))
    message = pickle.loads(pickle.dumps(str(error)))  # worker: ErrorEvent(kind, str(exc))
    assert isinstance(message, Sentence)
    i18n.install(catalogue())
    rebuilt = error_from_kind("InvalidModelError", message)
    assert isinstance(rebuilt, InvalidModelError) and str(rebuilt) == "GPU 层数设为 2"


def test_a_translation_that_lost_a_placeholder_keeps_the_english() -> None:
    plan = translate("Plan", "GPU layers are set to {n}").format(n=2)
    i18n.install(lambda context, text: "GPU 层数")  # {n} missing: format ignores it
    assert localize(plan) == "GPU 层数"
    i18n.install(lambda context, text: "GPU 层数 {m}")  # a wrong name: the English stays
    assert translate("Plan", "GPU layers are set to {n}").format(n=2) == "GPU layers are set to 2"
    assert localize(plan) == "GPU layers are set to 2"


LATIN_WORDS = re.compile(r"[A-Za-z]{2,}")
KEPT = ("Synthetic llama", "llama.cpp", "NVIDIA RTX 4070", "GPU", "CPU", "GB", "KV", "f16")


def latin_left(text: str) -> list[str]:
    for kept in KEPT:
        text = text.replace(kept, "")
    return LATIN_WORDS.findall(text)


@pytest.mark.parametrize(
    ("gpus", "options", "fits"),
    [
        ((), {}, True),
        ((nvidia("NVIDIA RTX 4070", 8),), {}, True),
        ((nvidia("NVIDIA RTX 4070", 2),), {}, True),
        ((nvidia("NVIDIA RTX 4070", 8),), {"gpu_layers": 0}, True),
        ((nvidia("NVIDIA RTX 4070", 2),), {"gpu_layers": 20}, False),  # too much for the GPU
        ((), {"n_ctx": 131072}, False),  # too big for RAM: the sentence says what to do
    ],
    ids=["cpu", "all-layers", "some-layers", "set-to-0", "gpu-too-small", "ram-too-small"],
)
def test_every_plan_reads_chinese_from_the_catalogue(
    gpus: tuple[GPUInfo, ...], options: dict[str, int], fits: bool
) -> None:
    i18n.install(catalogue())
    plan = plan_offload(
        synthetic(),
        machine(ram_free=8, ram_total=16, gpus=gpus),
        n_ctx=int(options.get("n_ctx", 8192)),
        gpu_layers=options.get("gpu_layers"),
        gpu_offload_supported=True,
    )
    assert plan.fits is fits
    text = plan.explain()
    assert text and not latin_left(text), text
    i18n.install(None)
    assert not re.search(r"[\u4e00-\u9fff]", english(text)), english(text)


def test_notices_said_together_are_made_again_one_by_one() -> None:
    from app.engine.kv_cache import fallback_notice

    first = fallback_notice("q8_0", "-22.")  # llama.cpp's own reason is kept as it is
    second = translate(
        "Notices",
        "The conversation is longer than the model's context window, so the oldest "
        "{n} messages were left out of this reply.",
    ).format(n=3)
    notice = pickle.loads(pickle.dumps(i18n.join(" ", [first, second])))
    assert notice == f"{first} {second}"
    i18n.install(catalogue())
    chinese = localize(notice)
    assert "q8_0" in chinese and "3" in chinese and not latin_left(chinese.replace("q8_0", ""))
    assert english(chinese) == notice


def test_sentences_joined_without_a_separator_are_made_again_too() -> None:
    first = translate("Storage", "1 conversation")
    second = translate("Storage", "{n} messages").format(n=4)
    joined = i18n.join("", [first, second])
    assert joined == "1 conversation4 messages" and joined.source == ""
    i18n.install(catalogue())
    assert localize(pickle.loads(pickle.dumps(joined))) == "1 个对话4 条消息"


def test_the_fit_verdicts_read_chinese_from_the_catalogue() -> None:
    from app.catalog.fit import QuantFit, Verdict

    def verdict(kind: Verdict, basis: str) -> QuantFit:
        return QuantFit(
            name="m.gguf",
            quant="Q4_K_M",
            size_bytes=GIB,
            verdict=kind,
            n_gpu_layers=20,
            n_layers=33,
            basis=basis,  # type: ignore[arg-type]
            explanation="",
            n_ctx=4096,
            gpu_bytes=0,
            cpu_bytes=GIB,
            roomy=True,
        )

    i18n.install(catalogue())
    labels = {kind: verdict(kind, "header").describe() for kind in Verdict} | {
        "estimate": verdict(Verdict.PARTIAL, "size").describe()
    }
    assert labels == {
        Verdict.GPU: "可完全放入 GPU",
        Verdict.PARTIAL: "部分卸载，33 层中的 20 层",
        Verdict.CPU: "仅 CPU",
        Verdict.TOO_BIG: "太大",
        "estimate": "部分卸载，33 层中的 20 层（估计）",
    }


def test_the_api_server_answers_in_english_inside_a_translated_window() -> None:
    from app.server.openai_api import ApiError

    i18n.install(catalogue())
    made_here = InvalidModelError(translate("Plan", "GPU layers are set to {n}").format(n=2))
    assert str(made_here) == "GPU 层数设为 2"
    error = ApiError(400, str(made_here))
    assert error.message == "GPU layers are set to 2"
    assert error.body()["error"]["message"] == "GPU layers are set to 2"


def test_the_library_file_keeps_a_damaged_model_s_reason_in_english(tmp_path: Path) -> None:
    from app.catalog.library import describe_gguf

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x00" * 4)  # too short to be a GGUF model
    i18n.install(catalogue())
    entry = describe_gguf(broken)
    assert entry.error is not None and "GGUF" in entry.error and "太短" in entry.error
    assert entry.to_dict()["error"] == "broken.gguf is too short to be a GGUF model (8 bytes)."
