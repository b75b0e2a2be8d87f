"""Images in the loaded model's prompt, through llama.cpp's libmtmd (worker process only).

Hearth keeps its own prompt tokens (``prompt_tokens``) and token loop (``decode``); mtmd
does what only it can do: cut an image into the projector's chunks and turn each into
embeddings in the KV cache. In the prompt's token list an image stands as a run of
placeholder ids, one per position it takes: negative numbers (no real token has one)
drawn from the image's SHA-256 and the chunk, so the same image at the same place gives
the same ids and another image differs. Context fitting then counts image positions like
any token, and the prefix reuse of the KV cache (``decode._uncached_suffix``'s rule)
keeps an image the previous reply already evaluated. An image that must go into the KV
cache again (the text before it changed, older turns were left out) is not encoded again
either: each image chunk's embeddings are kept with the cached image.

Messages carry images as ``"images": [bytes, ...]``; their text holds ``IMAGE_MARK``
once per image (see ``app.core.generation``). Before rendering, each mark becomes
``IMAGE_MARK<n>IMAGE_MARK`` (``n`` the image's index in the request), text a chat
template copies like any other; the prompt tokenizer splits there (:func:`split_images`).

Only image chunks are held here: the text some projectors put around an image (Gemma 3's
``<start_of_image>``, SmolVLM's tile markers) are real tokens in the run, evaluated as text.
"""

from __future__ import annotations

import ctypes
import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import (
    ConfigError,
    ContextOverflowError,
    EngineError,
    ImageError,
    ProjectorError,
    VisionUnsupportedError,
)
from app.core.generation import IMAGE_MARK, Message
from app.core.i18n import translate

_SLOT_RE = re.compile(f"{IMAGE_MARK}(\\d+){IMAGE_MARK}")
# Placeholder ids: -1 ... -PLACEHOLDER_SPAN.
PLACEHOLDER_SPAN = 2**31 - 2
# Images kept tokenized (preprocessed, a few MB each) while the model stays loaded, and
# the embeddings of those that were encoded, up to EMBEDDINGS_BYTES in all.
CACHE_IMAGES = 8
EMBEDDINGS_BYTES = 256 * 1024 * 1024
# Pictures are scaled down to this many times the projector's own image size before
# mtmd sees them (mtmd scales again, to what the projector takes); at least MIN_SIDE.
SIDE_FACTOR = 2
MIN_SIDE = 1024


def _advice() -> str:
    return translate(
        "Errors",
        "images cannot be read: pair the model with its own projector in the model manager.",
    )


# -- messages ---------------------------------------------------------------------------
def slot(index: int) -> str:
    """The text that stands for the request's image ``index`` in a message."""
    return f"{IMAGE_MARK}{index}{IMAGE_MARK}"


def split_images(text: str) -> list[str | int]:
    """``text`` cut at image slots: its text pieces and, between them, image indexes."""
    if IMAGE_MARK not in text:
        return [text]
    parts = _SLOT_RE.split(text)
    return [int(part) if k % 2 else part for k, part in enumerate(parts)]


def image_indexes(messages: Sequence[Message]) -> list[int]:
    """The image indexes the slots of ``messages``' text name, in order."""
    found: list[int] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str) and IMAGE_MARK in content:
            found.extend(int(n) for n in _SLOT_RE.findall(content))
    return found


def attach_images(
    messages: Sequence[Message], *, model_name: str, can_see: bool
) -> tuple[list[Message], list[bytes]]:
    """``messages`` without their ``"images"`` (each image's place in the text marked by
    :func:`slot`), and the images in slot order.

    A user message's images go where its text holds ``IMAGE_MARK`` once per image, or
    before its text when it holds none. Raises VisionUnsupportedError for images a model
    without a projector is sent, ConfigError for marks that do not match the images or
    images on another role's message.
    """
    images: list[bytes] = []
    out: list[Message] = []
    for message in messages:
        given = message.get("images") or ()
        rest = {k: v for k, v in message.items() if k != "images"}
        content = rest.get("content")
        text = content if isinstance(content, str) else ""
        if not given:
            if IMAGE_MARK in text:  # a stray mark is no image: it would only confuse
                rest["content"] = text.replace(IMAGE_MARK, "")
            out.append(rest)
            continue
        if not can_see:
            raise VisionUnsupportedError(
                translate(
                    "Errors",
                    "{model_name} reads text only: choose a model that can see images.",
                ).format(model_name=model_name)
            )
        if rest.get("role") != "user":
            raise ConfigError(
                translate(
                    "Errors",
                    "A {role} message carries images; only user messages can.",
                ).format(role=rest.get("role"))
            )
        if content is not None and not isinstance(content, str):
            raise ConfigError(
                translate("Errors", "A message with images must give its text as a string.")
            )
        marks = text.count(IMAGE_MARK)
        if marks == 0:
            text = IMAGE_MARK * len(given) + ("\n" + text if text else "")
        elif marks != len(given):
            raise ConfigError(
                translate(
                    "Errors",
                    "A message marks {marks} places for images but carries {n_given}; mark "
                    "each image's place once, or none to put them before the text.",
                ).format(marks=marks, n_given=len(given))
            )
        pieces = text.split(IMAGE_MARK)
        marked = [pieces[0]]
        for data, piece in zip(given, pieces[1:], strict=True):
            if not isinstance(data, bytes | bytearray | memoryview):
                raise ConfigError(
                    translate("Errors", "A message's images must be the bytes of image files.")
                )
            marked.append(slot(len(images)))
            marked.append(piece)
            images.append(bytes(data))
        rest["content"] = "".join(marked)
        out.append(rest)
    return out, images


# -- placeholder ids --------------------------------------------------------------------
def placeholders(digest: bytes, chunk: int, count: int) -> tuple[int, ...]:
    """The ids of chunk ``chunk`` of the image whose SHA-256 is ``digest``: ``count``
    consecutive negative numbers."""
    seed = hashlib.sha256(digest + chunk.to_bytes(4, "little")).digest()
    base = int.from_bytes(seed[:8], "little") % PLACEHOLDER_SPAN
    return tuple(-1 - (base + j) % PLACEHOLDER_SPAN for j in range(count))


@dataclass(frozen=True)
class ImageChunk:
    """Embeddings mtmd makes from part of an image: ``ids`` (one per position) in the
    prompt, ``n_tokens`` KV cells (more than the positions for M-RoPE models)."""

    ids: tuple[int, ...]
    n_tokens: int
    chunk: Any  # an owned mtmd_input_chunk pointer


@dataclass(frozen=True)
class ImageTokens:
    """One image's run in the prompt: text token ids and image chunks, in order."""

    sha256: str
    parts: tuple[tuple[int, ...] | ImageChunk, ...]
    width: int
    height: int

    @property
    def ids(self) -> list[int]:
        ids: list[int] = []
        for part in self.parts:
            ids.extend(part.ids if isinstance(part, ImageChunk) else part)
        return ids

    @property
    def n_tokens(self) -> int:
        """The KV cells the image takes (its text tokens included)."""
        return sum(p.n_tokens if isinstance(p, ImageChunk) else len(p) for p in self.parts)

    @property
    def surplus(self) -> int:
        """KV cells beyond the image's positions (0 unless the model uses M-RoPE)."""
        return self.n_tokens - len(self.ids)


# -- the mtmd context -------------------------------------------------------------------
class VisionContext:
    """libmtmd for one loaded ``llama_cpp.Llama``: tokenizes images (kept in a small
    cache by SHA-256) and evaluates prompts that hold them."""

    def __init__(self, ctx: Any, path: Path, max_side: int) -> None:
        from llama_cpp import mtmd_cpp

        self._mtmd = mtmd_cpp
        self._ctx = ctx
        self.path = path
        self.max_side = max_side
        self._cache: OrderedDict[str, ImageTokens] = OrderedDict()
        # A chunk's embeddings by its first placeholder id (float32, n_tokens x n_embd).
        self._embeddings: OrderedDict[int, Any] = OrderedDict()
        self.encoded = 0  # image chunks encoded (decoding kept embeddings is not counted)

    @classmethod
    def open(
        cls,
        llm: Any,
        mmproj: str | Path,
        *,
        model_name: str,
        n_threads: int,
        use_gpu: bool,
        flash_attn: bool,
        log_lines: Callable[[], list[str]] = list,
    ) -> VisionContext:
        """The projector ``mmproj`` for ``llm``; ProjectorError (one sentence, ending in
        what to do) when it is missing, not a projector, or not this model's."""
        import llama_cpp
        from llama_cpp import mtmd_cpp

        from app.vision.projector import read_projector

        path = Path(mmproj)
        advice = _advice()
        if not path.is_file():
            raise ProjectorError(
                translate("Errors", "{file} is missing (moved or deleted); {advice}").format(
                    file=path.name, advice=advice
                )
            )
        # The header first: a file that is no projector, or a damaged one, said plainly
        # (mtmd only says it failed to load a CLIP model).
        info = read_projector(path)
        if not info.has_vision:
            raise ProjectorError(_audio_only(path.name, advice))
        n_embd = int(llama_cpp.llama_model_n_embd_inp(llm.model))
        if info.projection_dim and info.projection_dim != n_embd:
            raise ProjectorError(_mismatch(path.name, model_name, info.projection_dim, n_embd))
        params = mtmd_cpp.mtmd_context_params_default()
        params.use_gpu = use_gpu
        params.print_timings = False
        params.n_threads = n_threads
        params.flash_attn_type = (
            llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
            if flash_attn
            else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        ctx = mtmd_cpp.mtmd_init_from_file(str(path).encode("utf-8"), llm.model, params)
        if not ctx:
            raise ProjectorError(_explain_failure(path.name, model_name, log_lines(), advice))
        if not mtmd_cpp.mtmd_support_vision(ctx):
            mtmd_cpp.mtmd_free(ctx)
            raise ProjectorError(_audio_only(path.name, advice))
        # Pictures keep SIDE_FACTOR times the projector's image size (at least MIN_SIDE)
        # before mtmd scales them to what it takes.
        return cls(ctx, path, max(MIN_SIDE, SIDE_FACTOR * (info.image_size or 0)))

    def close(self) -> None:
        """Free every cached image and the mtmd context (before the model goes)."""
        for image in self._cache.values():
            self._free(image)
        self._cache.clear()
        self._embeddings.clear()
        if self._ctx:
            self._mtmd.mtmd_free(self._ctx)
            self._ctx = None

    # -- images ---------------------------------------------------------------------------
    def prepare(self, images: Sequence[bytes]) -> list[ImageTokens]:
        """Each image decoded, scaled and tokenized by mtmd (or taken from the cache).

        Raises ImageError for bytes that are not a readable image.
        """
        prepared: list[ImageTokens] = []
        for data in images:
            sha = hashlib.sha256(data).hexdigest()
            image = self._cache.get(sha)
            if image is None:
                image = self._tokenize(data, sha)
                self._cache[sha] = image
            self._cache.move_to_end(sha)
            prepared.append(image)
        in_use = {image.sha256 for image in prepared}
        for sha in list(self._cache):
            if len(self._cache) <= CACHE_IMAGES:
                break
            if sha not in in_use:
                self._free(self._cache.pop(sha))
        return prepared

    def _tokenize(self, data: bytes, sha: str) -> ImageTokens:
        from app.vision.images import decode_rgb

        mtmd = self._mtmd
        # Pillow decodes (never stb on untrusted bytes), upright, RGB, scaled down.
        width, height, rgb = decode_rgb(data, self.max_side)
        pixels = (ctypes.c_uint8 * len(rgb)).from_buffer_copy(rgb)
        bitmap = mtmd.mtmd_bitmap_init(width, height, pixels)
        if not bitmap:
            raise ImageError(
                translate(
                    "Errors",
                    "The image cannot be prepared for the model; try another image.",
                )
            )
        chunks = mtmd.mtmd_input_chunks_init()
        try:
            mtmd.mtmd_bitmap_set_id(bitmap, sha.encode("ascii"))
            marker = mtmd.mtmd_default_marker()
            text = mtmd.mtmd_input_text()
            text.text = marker
            text.text_len = len(marker)
            text.add_special = False
            text.parse_special = True
            bitmaps = (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap)
            code = mtmd.mtmd_tokenize(self._ctx, chunks, ctypes.byref(text), bitmaps, 1)
            if code != 0:
                raise ImageError(
                    translate(
                        "Errors",
                        "The model's projector cannot take this {width}x{height} image (mtmd "
                        "error {code}); try another image.",
                    ).format(width=width, height=height, code=code)
                )
            digest = bytes.fromhex(sha)
            parts: list[tuple[int, ...] | ImageChunk] = []
            for i in range(mtmd.mtmd_input_chunks_size(chunks)):
                chunk = mtmd.mtmd_input_chunks_get(chunks, i)
                kind = mtmd.mtmd_input_chunk_get_type(chunk)
                if kind == mtmd.MTMD_INPUT_CHUNK_TYPE_TEXT:
                    count = ctypes.c_size_t()
                    tokens = mtmd.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(count))
                    if count.value:
                        parts.append(tuple(int(tokens[j]) for j in range(count.value)))
                    continue
                n_pos = int(mtmd.mtmd_input_chunk_get_n_pos(chunk))
                parts.append(
                    ImageChunk(
                        placeholders(digest, i, n_pos),
                        int(mtmd.mtmd_input_chunk_get_n_tokens(chunk)),
                        mtmd.mtmd_input_chunk_copy(chunk),
                    )
                )
        finally:
            mtmd.mtmd_input_chunks_free(chunks)
            mtmd.mtmd_bitmap_free(bitmap)
        return ImageTokens(sha, tuple(parts), width, height)

    def _free(self, image: ImageTokens) -> None:
        for part in image.parts:
            if isinstance(part, ImageChunk):
                self._embeddings.pop(part.ids[0], None)
                self._mtmd.mtmd_input_chunk_free(part.chunk)

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(
        self,
        llm: Any,
        tokens: list[int],
        images: Sequence[ImageTokens],
        should_stop: Callable[[], bool] = lambda: False,
    ) -> bool:
        """Bring ``llm``'s KV cache to the prompt ``tokens``: the cached prefix kept (as
        ``Llama.generate`` keeps it, never half an image), the rest evaluated run by run,
        text with ``llm.eval``, image chunks with mtmd. Afterwards ``llm.input_ids`` and
        ``llm.n_tokens`` describe the prompt, so the token loop finds it all cached.

        False when ``should_stop`` said so between two runs.
        """
        runs = _layout(tokens, images)
        if runs and runs[-1][2] is not None:
            # mtmd leaves no logits after an image: nothing to sample the reply from.
            raise ConfigError(
                translate(
                    "Errors",
                    "The chat template ends the prompt with an image, leaving the model "
                    "nothing to answer after; add text after the image.",
                )
            )
        start = _reusable_prefix(llm, tokens, runs)
        if start is None:
            return True  # all cached, the last token's logits still there
        for begin, end, chunk in runs:
            if end <= start:
                continue
            if should_stop():
                return False
            if chunk is None:
                llm.eval(tokens[max(begin, start) : end])
                continue
            self._eval_chunk(llm, chunk, begin)
        return True

    def _eval_chunk(self, llm: Any, chunk: ImageChunk, begin: int) -> None:
        """``mtmd_helper_eval_chunk_single``'s steps (encode, then decode the embeddings
        into the KV cache), the encoding skipped when the chunk's embeddings are kept."""
        import llama_cpp

        if llm.n_tokens != begin:
            raise EngineError(
                translate(
                    "Errors",
                    "The engine lost its place in the prompt; send the message again.",
                )
            )
        llm._ctx.kv_cache_seq_rm(-1, begin, -1)
        embeddings = self._encode(llm, chunk)
        new_n_past = llama_cpp.llama_pos(0)
        code = self._mtmd.mtmd_helper_decode_image_chunk(
            self._ctx,
            llm._ctx.ctx,
            chunk.chunk,
            embeddings.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
            llama_cpp.llama_pos(begin),
            llama_cpp.llama_seq_id(0),
            llm.n_batch,
            ctypes.byref(new_n_past),
            self._mtmd.mtmd_helper_post_decode_callback(),  # NULL: no callback
            None,
        )
        if code != 0:
            llm._ctx.kv_cache_seq_rm(-1, begin, -1)
            raise EngineError(
                translate(
                    "Errors",
                    "The model could not take an image into its context (llama.cpp error "
                    "{code}); try a larger context or fewer images.",
                ).format(code=code)
            )
        end = begin + len(chunk.ids)
        llm.input_ids[begin:end] = chunk.ids
        llm.n_tokens = int(new_n_past.value)

    def _encode(self, llm: Any, chunk: ImageChunk) -> Any:
        """The chunk's embeddings: kept ones, or encoded now (and kept)."""
        import llama_cpp
        import numpy as np

        key = chunk.ids[0]
        kept = self._embeddings.get(key)
        if kept is not None:
            self._embeddings.move_to_end(key)
            return kept
        code = self._mtmd.mtmd_encode_chunk(self._ctx, chunk.chunk)
        self.encoded += 1
        if code != 0:
            raise EngineError(
                translate(
                    "Errors",
                    "The projector could not encode an image (mtmd error {code}); try "
                    "another image, or a smaller one.",
                ).format(code=code)
            )
        n_embd = int(llama_cpp.llama_model_n_embd_inp(llm.model))
        size = chunk.n_tokens * n_embd
        output = self._mtmd.mtmd_get_output_embd(self._ctx)
        embeddings = np.ctypeslib.as_array(output, shape=(size,)).copy()
        self._embeddings[key] = embeddings
        total = sum(e.nbytes for e in self._embeddings.values())
        while total > EMBEDDINGS_BYTES and len(self._embeddings) > 1:
            _, dropped = self._embeddings.popitem(last=False)
            total -= dropped.nbytes
        return embeddings


def _layout(
    tokens: list[int], images: Sequence[ImageTokens]
) -> list[tuple[int, int, ImageChunk | None]]:
    """``tokens`` as runs ``(begin, end, chunk)``: text (chunk None) and image chunks."""
    by_first: dict[int, ImageChunk] = {}
    for image in images:
        for part in image.parts:
            if isinstance(part, ImageChunk) and part.ids:
                by_first[part.ids[0]] = part
    runs: list[tuple[int, int, ImageChunk | None]] = []
    i, n = 0, len(tokens)
    while i < n:
        if tokens[i] >= 0:
            j = i
            while j < n and tokens[j] >= 0:
                j += 1
            runs.append((i, j, None))
            i = j
            continue
        chunk = by_first.get(tokens[i])
        end = i + len(chunk.ids) if chunk is not None else -1
        if chunk is None or tuple(tokens[i:end]) != chunk.ids:
            raise EngineError(
                translate(
                    "Errors",
                    "The prompt's image tokens are out of order; send the message again.",
                )
            )
        runs.append((i, end, chunk))
        i = end
    return runs


def _reusable_prefix(
    llm: Any, tokens: list[int], runs: list[tuple[int, int, ImageChunk | None]]
) -> int | None:
    """Where evaluation starts after keeping the KV cache's matching prefix (and setting
    ``llm`` to it), or None when the whole prompt is cached with its logits.

    ``decode._uncached_suffix``'s rule, with a boundary inside an image moved back to
    the image chunk's start: an image is evaluated whole or not at all.
    """
    if llm.n_tokens > 0:
        longest = 0
        for a, b in zip(llm._input_ids, tokens, strict=False):
            if a != b:
                break
            longest += 1
        consumed = longest == len(tokens)
        if llm.n_tokens == len(tokens) and consumed and not llm._requires_eval:
            return None
        reuse = longest - 1 if consumed else longest
        for begin, end, chunk in runs:
            if chunk is not None and begin < reuse < end:
                reuse = begin
        if reuse > 0 and llm._ctx.kv_cache_seq_rm(-1, reuse, -1):
            llm.n_tokens = reuse
            llm._requires_eval = True
            return reuse
    llm.reset()
    llm._ctx.kv_cache_seq_rm(-1, 0, -1)
    return 0


_MISMATCH_RE = re.compile(r"text model \(n_embd = (\d+)\) and mmproj \(n_embd = (\d+)\)")


def _audio_only(projector: str, advice: str) -> str:
    return translate(
        "Errors", "{file} is not a vision projector (it reads audio only); {advice}"
    ).format(file=projector, advice=advice)


def _mismatch(projector: str, model_name: str, projects: int, takes: int) -> str:
    return translate(
        "Errors",
        "{file} is not a vision projector for {model} (it projects to {projects} values, the "
        "model takes {takes}); {advice}",
    ).format(file=projector, model=model_name, projects=projects, takes=takes, advice=_advice())


def _explain_failure(projector: str, model_name: str, lines: list[str], advice: str) -> str:
    """One sentence for a projector mtmd refused, from its log lines."""
    text = "\n".join(lines)
    found = _MISMATCH_RE.search(text)
    if found:
        return _mismatch(projector, model_name, int(found[2]), int(found[1]))
    errors = [line for line in lines if "error" in line.lower() or "fail" in line.lower()]
    reason = errors[-1].split("error:", 1)[-1].strip() if errors else "llama.cpp refused it"
    return translate("Errors", "{file} cannot be used with {model} ({reason}); {advice}").format(
        file=projector, model=model_name, reason=reason.rstrip("."), advice=advice
    )


def overflow(
    images: Sequence[ImageTokens], newest: Sequence[int], n_ctx: int, exc: ContextOverflowError
) -> ContextOverflowError:
    """The context overflow ``exc`` said again, naming the newest message's images."""
    if not newest:
        return exc
    taken = sum(images[i].n_tokens for i in newest)
    if len(newest) > 1:
        sentence = translate(
            "Errors",
            "The {count} images take {taken} tokens of this model's context window of {n_ctx}, "
            "which then has no room for the message and a reply; send fewer images or raise "
            "the context length in the settings.",
        ).format(count=len(newest), taken=taken, n_ctx=n_ctx)
    else:
        sentence = translate(
            "Errors",
            "The image takes {taken} tokens of this model's context window of {n_ctx}, which "
            "then has no room for the message and a reply; send fewer images or raise the "
            "context length in the settings.",
        ).format(taken=taken, n_ctx=n_ctx)
    return ContextOverflowError(sentence)
