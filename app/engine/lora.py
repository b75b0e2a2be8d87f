"""LoRA adapters at run time: loaded once per model, applied per reply.

An adapter (a GGUF with ``general.type = "adapter"``, ``adapter.type = "lora"``) holds
low-rank A/B pairs for some of its base model's weights. llama.cpp loads it beside the
model (``llama_adapter_lora_init``) and adds ``scale * alpha / rank * B @ A`` to those
weights' products in every graph of a context whose adapter set includes it
(``llama_set_adapters_lora``): switching adapters between replies costs no reload.
llama.cpp frees an adapter with its model, so the cache here lives as long as the model.

The KV cache holds keys and values computed under the set that was applied then: a
prompt prefix cached under one set is stale under another, so a change of set drops it.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.errors import InvalidModelError, ModelError
from app.core.i18n import translate

if TYPE_CHECKING:
    from app.core.gguf_meta import GGUFInfo

# (adapter path, scale) pairs, as GenerationParams.loras holds them.
LoraSet = tuple[tuple[str, float], ...]

_A, _B = ".lora_a", ".lora_b"


def is_lora_adapter(info: GGUFInfo) -> bool:
    """Whether a GGUF is a LoRA adapter (not a model)."""
    return info.metadata.get("general.type") == "adapter"


def check_adapter(adapter: GGUFInfo, base: GGUFInfo) -> None:
    """Raise a one-sentence error unless ``adapter`` is a LoRA that fits ``base``:
    the same architecture, and each A/B pair shaped for the base weight it changes
    (llama.cpp's own rules in ``llama_adapter_lora_init``)."""
    name, base_name = adapter.path.name, base.path.name
    if not is_lora_adapter(adapter) or adapter.metadata.get("adapter.type") != "lora":
        raise InvalidModelError(
            translate(
                "Errors",
                "{name} is not a LoRA adapter (its general.type is {kind!r}); choose a "
                "GGUF LoRA adapter.",
            ).format(name=name, kind=adapter.metadata.get("general.type", "missing"))
        )
    if adapter.architecture != base.architecture:
        raise ModelError(
            translate(
                "Errors",
                "{name} is a LoRA adapter for '{architecture}' models, but {base_name} "
                "is a '{base_architecture}' model; choose an adapter made for {base_name}.",
            ).format(
                name=name,
                architecture=adapter.architecture,
                base_name=base_name,
                base_architecture=base.architecture,
            )
        )
    mismatch = adapter_mismatch(adapter, base)
    if mismatch is not None:
        raise ModelError(
            translate(
                "Errors",
                "{name} was made for another base model ({mismatch}); choose an adapter "
                "made for {base_name}.",
            ).format(name=name, mismatch=mismatch, base_name=base_name)
        )


def adapter_mismatch(adapter: GGUFInfo, base: GGUFInfo) -> str | None:
    """Why ``adapter``'s tensors do not fit ``base``'s, in a few words; None if they do."""
    shapes = {t.name: t.shape for t in base.tensors}
    pairs: dict[str, dict[str, tuple[int, ...]]] = {}
    for tensor in adapter.tensors:
        for suffix in (_A, _B):
            if tensor.name.endswith(suffix):
                pairs.setdefault(tensor.name[: -len(suffix)], {})[suffix] = tensor.shape
    if not pairs:
        return "it holds no LoRA tensors"
    for weight, pair in sorted(pairs.items()):
        if weight not in shapes:
            return f"{base.path.name} has no tensor {weight}"
        if len(pair) != 2:
            return f"{weight} lacks half of its A/B pair"
        target, a, b = shapes[weight], pair[_A], pair[_B]
        if len(target) < 2 or len(a) < 2 or len(b) < 2:
            return f"{weight} is not a matrix"
        # ne order: the weight is [n_in, n_out], A [n_in, rank], B [rank, n_out];
        # token embeddings have A and B the other way round (llm_build_inp_embd).
        if weight == "token_embd.weight":
            fits = target[0] == b[1] and target[1] == a[1]
        else:
            fits = target[0] == a[0] and target[1] == b[1] and a[1] == b[0]
        if not fits:
            return f"its {weight} is for a {a[0]}x{b[1]} weight, {base.path.name}'s is " + "x".join(
                str(n) for n in target[:2]
            )
    return None


def check_adapters_for(base_path: str | Path, loras: LoraSet) -> None:
    """Refuse, before the model loads, any adapter in ``loras`` that does not fit the
    model at ``base_path`` (one sentence, from its header: no weights are read)."""
    from app.core.gguf_meta import read_gguf

    if not loras:
        return
    base = read_gguf(base_path, check_data=False)
    for path, _scale in loras:
        check_adapter(read_gguf(path), base)


class Adapters:
    """The adapters loaded for one model (by path) and the set its context applies."""

    def __init__(
        self, llm: Any, base: GGUFInfo, log_lines: Callable[[], Iterable[str]] = list
    ) -> None:
        self._llm = llm
        self._base = base
        self._log_lines = log_lines
        self._loaded: dict[str, Any] = {}
        self.applied: LoraSet = ()
        self.loads = 0  # adapters read from disk since the model loaded

    def load(self, path: str) -> Any:
        """The loaded adapter at ``path`` (read and checked the first time)."""
        key = str(Path(path).expanduser().resolve())
        adapter = self._loaded.get(key)
        if adapter is not None:
            return adapter
        import llama_cpp

        from app.core.gguf_meta import read_gguf

        check_adapter(read_gguf(key), self._base)  # a damaged or foreign file: one sentence
        adapter = llama_cpp.llama_adapter_lora_init(self._llm.model, key.encode("utf-8"))
        # A NULL pointer object, not None, is what the binding returns on failure.
        if not adapter:
            reasons = [
                line.split("failed to apply lora adapter:", 1)[1].strip()
                for line in self._log_lines()
                if "failed to apply lora adapter:" in line
            ]
            reason = reasons[-1] if reasons else "see the log file"
            raise ModelError(
                translate(
                    "Errors",
                    "llama.cpp could not load the LoRA adapter {name} ({reason}); choose an "
                    "adapter made for {file}.",
                ).format(name=Path(key).name, reason=reason, file=self._base.path.name)
            )
        self._loaded[key] = adapter
        self.loads += 1
        return adapter

    def apply(self, loras: LoraSet) -> bool:
        """Make ``loras`` the context's adapter set; True when it changed (the cached
        prompt prefix was then dropped: it was computed under the old set)."""
        wanted = tuple((str(Path(p).expanduser().resolve()), float(s)) for p, s in loras)
        if wanted == self.applied:
            return False
        import llama_cpp

        handles = [self.load(path) for path, _ in wanted]  # all load, or none applies
        n = len(handles)
        array = (llama_cpp.llama_adapter_lora_p_ctypes * max(n, 1))(*handles)
        scales = (ctypes.c_float * max(n, 1))(*(s for _, s in wanted))
        code = llama_cpp.llama_set_adapters_lora(self._llm.ctx, array, n, scales)
        if code != 0:
            raise ModelError(
                translate(
                    "Errors",
                    "llama.cpp could not apply the LoRA adapters (error {code}); try without them.",
                ).format(code=code)
            )
        self.applied = wanted
        self._llm.n_tokens = 0  # the next prompt is evaluated afresh (see module docstring)
        return True

    def close(self) -> None:
        """Forget the adapters: llama.cpp frees them with the model."""
        self._loaded.clear()
        self.applied = ()


def parse_lora_arg(text: str) -> tuple[str, float]:
    """``FILE[:SCALE]`` (``--lora``) as (path, scale); the scale defaults to 1."""
    path, sep, scale = text.rpartition(":")
    if sep and path:
        try:
            return path, float(scale)
        except ValueError:
            pass  # a colon in the path (C:\\...), no scale
    return text, 1.0
