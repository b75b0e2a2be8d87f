"""Vision projectors (``mmproj-*.gguf``): what one is, and which model it belongs to.

A projector is a GGUF whose ``general.architecture`` is ``clip``: an image encoder plus
the layers that turn its output into the text model's embeddings. llama.cpp's libmtmd
refuses a pair whose sizes differ ("mismatch between text model (n_embd = ...) and
mmproj"), so the size a projector projects to is read here the way libmtmd computes it
(``clip_n_mmproj_embd`` in tools/mtmd/clip.cpp: the shape of the projector's last
tensor, which depends on its type), and compared with the text model's input size
(``embedding_length``, times one plus the deepstack layers for Qwen3-VL).

Only the header is read (:func:`app.core.gguf_meta.read_gguf`), never the weights.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.core.errors import HearthError, ProjectorError
from app.core.gguf_meta import GGUFInfo, read_gguf
from app.core.i18n import translate

CLIP = "clip"
# Hub tags (and pipeline tags) that say a repo's model takes images; its files then hold
# the projector. Read by Hub search results and model cards alike.
VISION_HUB_TAGS = frozenset({"image-text-to-text", "visual-question-answering", "vision"})

# projector type -> (tensor, dimension of its shape) holding the projected size, as
# clip_n_mmproj_embd reads it (shapes are in ggml order: ne[0] first).
_OUTPUT_TENSOR: dict[str, tuple[str, int]] = {
    "mlp": ("mm.2.weight", 1),
    "phi4": ("mm.2.weight", 1),
    "pixtral": ("mm.2.weight", 1),
    "lightonocr": ("mm.2.weight", 1),
    "lfm2": ("mm.2.weight", 1),
    "kimivl": ("mm.2.weight", 1),
    "kimik25": ("mm.2.weight", 1),
    "paddleocr": ("mm.2.weight", 1),
    "ultravox": ("mm.2.weight", 1),
    "voxtral": ("mm.2.weight", 1),
    "mlp_norm": ("mm.3.bias", 0),
    "resampler": ("resampler.proj.weight", 0),  # MiniCPM-V
    "qwen2vl_merger": ("mm.2.bias", 0),
    "qwen2.5vl_merger": ("mm.2.bias", 0),
    "qwen3vl_merger": ("mm.2.bias", 0),
    "youtuvl": ("mm.2.bias", 0),
    "gemma3": ("mm.input_projection.weight", 0),
    "gemma3nv": ("mm.input_projection.weight", 0),
    "gemma4v": ("mm.input_projection.weight", 1),
    "gemma4uv": ("mm.input_projection.weight", 1),
    "idefics3": ("mm.model.fc.weight", 1),  # SmolVLM, SmolVLM2
    "llama4": ("mm.model.fc.weight", 1),
    "internvl": ("mm.model.mlp.3.weight", 1),
    "adapter": ("adapter.linear.dense_4h_to_h.weight", 1),  # GLM-Edge
}
# Text architectures a projector type is made for, where that is certain: a projector of
# one of these types beside a model of another architecture is not its projector, even
# when the sizes happen to agree. Types not listed (LLaVA's mlp, SmolVLM's idefics3,
# MiniCPM-V's resampler...) are used with many text models.
_TEXT_ARCHITECTURES: dict[str, frozenset[str]] = {
    "gemma3": frozenset({"gemma3"}),
    "gemma3nv": frozenset({"gemma3n"}),
    "gemma4v": frozenset({"gemma4"}),
    "gemma4uv": frozenset({"gemma4"}),
    "qwen2vl_merger": frozenset({"qwen2vl"}),
    "qwen2.5vl_merger": frozenset({"qwen2vl"}),
    "qwen3vl_merger": frozenset({"qwen3vl", "qwen3vlmoe"}),
    "llama4": frozenset({"llama4"}),
}
_DEEPSTACK_RE = re.compile(r"^v\.deepstack\.(\d+)\.")
_QUANT_WORD_RE = re.compile(
    r"(?:^|[-_.])(?:I?Q[1-8](?:_[0-9A-Z]+)*|B?F16|FP16|F32|FP32|MXFP4)$", re.IGNORECASE
)
_MODEL_WORD_RE = re.compile(r"^mmproj(?:[-_.]model)?(?:[-_.]|$)", re.IGNORECASE)
# Local projectors of one model in several types: full precision first, then Q8_0.
_TYPE_RANK = {"F16": 0, "BF16": 0, "F32": 0, "Q8_0": 1}


@dataclass(frozen=True)
class ProjectorInfo:
    """What a projector's header says about it; bytes throughout."""

    path: Path
    projector_type: str  # clip.projector_type, e.g. "gemma3", "idefics3", "qwen2.5vl_merger"
    projection_dim: int | None  # the text embedding size it outputs (None: not known)
    image_size: int | None  # the side the encoder sees, in pixels
    patch_size: int | None
    n_bytes: int  # the file's size
    weights_bytes: int  # its tensors
    has_vision: bool
    has_audio: bool
    name: str | None  # general.name, when the converter wrote one
    text_architectures: frozenset[str]  # the text architectures it is made for (empty: any)
    n_embd: int  # the encoder's width (for the compute-buffer estimate)
    n_layer: int
    n_head: int
    n_ff: int
    quantization: str

    @property
    def image_tokens(self) -> int | None:
        """Patches per image at ``image_size`` (before any merging the projector does)."""
        if not self.image_size or not self.patch_size:
            return None
        return (self.image_size // self.patch_size) ** 2


def is_projector_gguf(info: GGUFInfo) -> bool:
    """Whether a parsed GGUF header is a projector's (``general.architecture = clip``)."""
    return info.architecture == CLIP


def projector_from_gguf(info: GGUFInfo) -> ProjectorInfo:
    """:class:`ProjectorInfo` from a header already read (local or fetched from the Hub)."""
    name = info.path.name
    if not is_projector_gguf(info):
        raise ProjectorError(
            translate(
                "Errors",
                "{name} is not a vision projector (its architecture is {architecture!r}, "
                "not 'clip'); choose the mmproj-*.gguf file that came with the model.",
            ).format(name=name, architecture=info.architecture)
        )
    meta = info.metadata
    projector_type = str(
        meta.get("clip.projector_type") or meta.get("clip.vision.projector_type") or ""
    )
    if not projector_type:
        raise ProjectorError(
            translate(
                "Errors",
                "{name} does not say which kind of projector it is (no "
                "clip.projector_type); download the model's projector again or convert "
                "it with a recent llama.cpp.",
            ).format(name=name)
        )
    has_vision = bool(meta.get("clip.has_vision_encoder", "clip.vision.image_size" in meta))
    has_audio = bool(meta.get("clip.has_audio_encoder", False))
    prefix = "clip.vision" if has_vision or not has_audio else "clip.audio"
    return ProjectorInfo(
        path=info.path,
        projector_type=projector_type,
        projection_dim=_projection_dim(info, projector_type),
        image_size=_int_or_none(meta.get("clip.vision.image_size")),
        patch_size=_int_or_none(meta.get("clip.vision.patch_size")),
        n_bytes=info.file_size,
        weights_bytes=info.tensor_bytes,
        has_vision=has_vision,
        has_audio=has_audio,
        name=str(meta["general.name"]) if meta.get("general.name") else None,
        text_architectures=_TEXT_ARCHITECTURES.get(projector_type, frozenset()),
        n_embd=int(meta.get(f"{prefix}.embedding_length", 0) or 0),
        n_layer=int(meta.get(f"{prefix}.block_count", 0) or 0),
        n_head=int(meta.get(f"{prefix}.attention.head_count", 0) or 0),
        n_ff=int(meta.get(f"{prefix}.feed_forward_length", 0) or 0),
        quantization=info.quantization,
    )


def read_projector(path: str | Path) -> ProjectorInfo:
    """Read a projector's header; ProjectorError says what is wrong with a bad file."""
    file = Path(path).expanduser()
    if not file.exists():
        raise ProjectorError(
            translate(
                "Errors",
                "The vision projector {file} is missing; put it back, or pair the model "
                "with another projector in the model manager.",
            ).format(file=file)
        )
    try:
        info = _read_cached(file, check_data=True)
    except HearthError as exc:
        raise ProjectorError(
            translate(
                "Errors",
                "{file} cannot be used as a vision projector: {error}",
            ).format(file=file.name, error=str(exc))
        ) from exc
    except OSError as exc:
        raise ProjectorError(
            translate(
                "Errors",
                "{file} cannot be read ({error}); check its permissions.",
            ).format(file=file.name, error=exc.strerror)
        ) from exc
    return projector_from_gguf(info)


def read_model_header(path: str | Path) -> GGUFInfo:
    """A text model's header (tensor data not checked), read once per file version."""
    return _read_cached(Path(path).expanduser(), check_data=False)


def _read_cached(file: Path, *, check_data: bool) -> GGUFInfo:
    """``read_gguf``, remembered while the file's size and modification time stay the
    same: the library resolves projectors each time it lists its models."""
    try:
        stat = file.stat()
    except OSError:
        return read_gguf(file, check_data=check_data)  # raises the usual sentence
    return _read_gguf_version(str(file), stat.st_mtime_ns, stat.st_size, check_data)


@lru_cache(maxsize=256)
def _read_gguf_version(path: str, mtime_ns: int, size: int, check_data: bool) -> GGUFInfo:
    del mtime_ns, size  # only part of the cache key
    return read_gguf(path, check_data=check_data)


def model_embedding_size(model: GGUFInfo) -> int:
    """The size of the embeddings a text model takes in (llama.cpp's ``n_embd_inp``)."""
    n_embd = int(model.arch_value("embedding_length", 0) or 0)
    deepstack = int(model.arch_value("n_deepstack_layers", 0) or 0)
    return n_embd * (1 + deepstack)


def projector_fits(projector: ProjectorInfo, model: GGUFInfo) -> bool:
    """Whether ``projector`` can feed ``model``: the embedding sizes are equal (when the
    projector's is known) and its type is not made for another text architecture."""
    return mismatch(projector, model) is None


def mismatch(projector: ProjectorInfo, model: GGUFInfo) -> str | None:
    """Why ``projector`` cannot feed ``model`` (a sentence), or None when it can."""
    if not projector.has_vision:
        return translate(
            "Errors",
            "{file} encodes sound, not images, so it cannot show images to {model_name}.",
        ).format(file=projector.path.name, model_name=model.name)
    wanted = model_embedding_size(model)
    if projector.projection_dim is not None and wanted and projector.projection_dim != wanted:
        return translate(
            "Errors",
            "{file} makes {projection_dim}-wide embeddings but {model_name} takes "
            "{wanted}-wide ones, so it is another model's projector; choose the "
            "mmproj file published with this model.",
        ).format(
            file=projector.path.name,
            projection_dim=projector.projection_dim,
            model_name=model.name,
            wanted=wanted,
        )
    if projector.text_architectures and model.architecture not in projector.text_architectures:
        return translate(
            "Errors",
            "{file} is a {projector_type} projector, made for {text_architectures} "
            "models, not for {model_name} ({architecture}); choose the mmproj file "
            "published with it.",
        ).format(
            file=projector.path.name,
            projector_type=projector.projector_type,
            text_architectures=", ".join(sorted(projector.text_architectures)),
            model_name=model.name,
            architecture=model.architecture,
        )
    return None


def find_projector(
    model_path: str | Path, candidates: Iterable[str | Path] | None = None
) -> Path | None:
    """The projector for the model at ``model_path`` among ``candidates`` (by default the
    ``mmproj*.gguf`` files in its folder), or None.

    Only projectors that fit the model count. Among several, the one whose name shares
    the model's (without quantisation) wins, then F16/BF16/F32, then Q8_0, then the name.
    """
    model_file = Path(model_path)
    files = (
        [Path(c) for c in candidates]
        if candidates is not None
        else projector_files(model_file.parent)
    )
    if not files:
        return None
    try:
        model = read_model_header(model_file)
    except (HearthError, OSError):
        return None
    fitting: list[tuple[tuple[int, int, str], Path]] = []
    for file in files:
        try:
            projector = read_projector(file)
        except HearthError:
            continue
        if projector_fits(projector, model):
            fitting.append((_preference(file, model_file, projector), file))
    if not fitting:
        return None
    return min(fitting, key=lambda item: item[0])[1]


def projector_files(folder: Path) -> list[Path]:
    """The ``mmproj*.gguf`` files directly in ``folder`` (sorted; none if it is unreadable)."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [
        folder / n
        for n in names
        if n.lower().startswith("mmproj") and n.lower().endswith(".gguf") and (folder / n).is_file()
    ]


def base_name(file_name: str) -> str:
    """A GGUF name without ``.gguf``, the ``mmproj`` prefix and the quantisation, lowercased:
    ``mmproj-SmolVLM2-500M-Video-Instruct-f16.gguf`` -> ``smolvlm2-500m-video-instruct``."""
    stem = file_name.removesuffix(".gguf").removesuffix(".GGUF")
    stem = _MODEL_WORD_RE.sub("", stem)
    return _QUANT_WORD_RE.sub("", stem).strip("-_.").lower()


def _preference(file: Path, model_file: Path, projector: ProjectorInfo) -> tuple[int, int, str]:
    mine = base_name(file.name)
    same_name = 0 if mine and mine == base_name(model_file.name) else 1
    return same_name, _TYPE_RANK.get(projector.quantization.upper(), 2), file.name


def _projection_dim(info: GGUFInfo, projector_type: str) -> int | None:
    """The projected size as libmtmd computes it, else clip.vision.projection_dim."""
    tensors = {t.name: t.shape for t in info.tensors}
    if projector_type == "mlp" and "mm.3.weight" in tensors:
        projector_type = "mlp_norm"  # Yi-style LLaVA: clip.cpp switches the type the same way
    spot = _OUTPUT_TENSOR.get(projector_type)
    if spot is not None and spot[0] in tensors and len(tensors[spot[0]]) > spot[1]:
        size = int(tensors[spot[0]][spot[1]])
        if projector_type == "qwen3vl_merger":
            layers = {m.group(1) for name in tensors if (m := _DEEPSTACK_RE.match(name))}
            size *= 1 + len(layers)
        return size
    declared = info.metadata.get("clip.vision.projection_dim")
    return _int_or_none(declared)


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value
