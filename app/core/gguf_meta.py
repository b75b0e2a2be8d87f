"""Read a GGUF file's metadata and tensor table without loading its weights.

``gguf.GGUFReader`` builds Python objects for every vocabulary entry (tens of seconds
for a 262k-token vocabulary on a slow CPU), so this module walks the header itself over
a memory map and only records where the large arrays lie. It also validates the file:
wrong magic, absurd counts, offsets outside the file and truncated tensor data are
reported as :class:`~app.core.errors.InvalidModelError` with a sentence a user can act on.
"""

from __future__ import annotations

import importlib.util
import mmap
import re
import struct
import sys
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

from app.core.errors import InvalidModelError, ModelNotFoundError
from app.core.i18n import translate

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
# Arrays longer than this are not materialised; only their length and byte range are kept.
_SMALL_ARRAY = 64
_MIN_KV_BYTES = 8 + 1 + 4  # key length, one-char key, value type
_MIN_TENSOR_INFO_BYTES = 8 + 1 + 4 + 8 + 4 + 8  # name, 1 dim, type, offset

_SCALARS: dict[int, tuple[str, int]] = {
    0: ("<B", 1),
    1: ("<b", 1),
    2: ("<H", 2),
    3: ("<h", 2),
    4: ("<I", 4),
    5: ("<i", 4),
    6: ("<f", 4),
    7: ("<?", 1),
    10: ("<Q", 8),
    11: ("<q", 8),
    12: ("<d", 8),
}
_STRING, _ARRAY = 8, 9

_LAYER_RE = re.compile(r"^blk\.(\d+)\.")
SPLIT_RE = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)


@dataclass(frozen=True)
class ArrayInfo:
    """A long metadata array: element type, length and the byte range of its payload."""

    item_type: int
    length: int
    start: int
    end: int


@dataclass(frozen=True)
class TensorInfo:
    name: str
    ggml_type: int
    shape: tuple[int, ...]
    n_elements: int
    n_bytes: int
    offset: int  # absolute offset in the file

    @property
    def layer(self) -> int | None:
        """The transformer block this tensor belongs to, or None for shared tensors."""
        match = _LAYER_RE.match(self.name)
        return int(match.group(1)) if match else None


@dataclass
class GGUFInfo:
    """What Hearth needs to know about a GGUF file, read from its header."""

    path: Path
    file_size: int
    version: int
    metadata: dict[str, Any]
    arrays: dict[str, ArrayInfo]
    tensors: list[TensorInfo] = field(default_factory=list)
    data_offset: int = 0

    # -- convenience accessors -------------------------------------------------------
    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    def arch_value(self, key: str, default: Any = None) -> Any:
        """An architecture-scoped key, e.g. ``arch_value("block_count")``."""
        return self.metadata.get(f"{self.architecture}.{key}", default)

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name") or self.path.stem)

    @property
    def context_length(self) -> int:
        return int(self.arch_value("context_length", 0) or 0)

    @property
    def block_count(self) -> int:
        return int(self.arch_value("block_count", 0) or 0)

    @property
    def chat_template(self) -> str | None:
        template = self.metadata.get("tokenizer.chat_template")
        return str(template) if template else None

    @property
    def vocab_size(self) -> int:
        tokens = self.arrays.get("tokenizer.ggml.tokens")
        if tokens is not None:
            return tokens.length
        return int(self.arch_value("vocab_size", 0) or 0)

    @property
    def parameter_count(self) -> int:
        return sum(t.n_elements for t in self.tensors)

    @property
    def tensor_bytes(self) -> int:
        return sum(t.n_bytes for t in self.tensors)

    @property
    def quantization(self) -> str:
        """The file type llama.cpp's quantiser wrote ("Q4_K_M"), else the dominant type."""
        constants = gguf_constants()
        GGMLQuantizationType, LlamaFileType = (
            constants.GGMLQuantizationType,
            constants.LlamaFileType,
        )
        file_type = self.metadata.get("general.file_type")
        if isinstance(file_type, int):
            try:
                name = str(LlamaFileType(file_type).name)
                return name.removeprefix("MOSTLY_").removeprefix("ALL_")
            except ValueError:
                pass
        by_bytes: Counter[int] = Counter()
        for tensor in self.tensors:
            by_bytes[tensor.ggml_type] += tensor.n_bytes
        if not by_bytes:
            return "unknown"
        dominant = by_bytes.most_common(1)[0][0]
        try:
            return str(GGMLQuantizationType(dominant).name)
        except ValueError:
            return f"type{dominant}"

    def layer_bytes(self) -> list[int]:
        """Bytes of weights in each transformer block, index = block number."""
        sizes = [0] * self.block_count
        for tensor in self.tensors:
            layer = tensor.layer
            if layer is not None and layer < len(sizes):
                sizes[layer] += tensor.n_bytes
        return sizes

    def non_layer_bytes(self) -> dict[str, int]:
        """Bytes of tensors outside the blocks (embeddings, output head, norms)."""
        return {t.name: t.n_bytes for t in self.tensors if t.layer is None}

    def has_token(self, text: str) -> bool:
        """Whether the vocabulary contains ``text`` (searched in the raw token array)."""
        tokens = self.arrays.get("tokenizer.ggml.tokens")
        if tokens is None:
            return False
        needle = text.encode("utf-8")
        with self.path.open("rb") as handle:
            handle.seek(tokens.start)
            return needle in handle.read(tokens.end - tokens.start)

    def token_text(self, token_id: int) -> str | None:
        """The text of one vocabulary entry, by walking the token array."""
        tokens = self.arrays.get("tokenizer.ggml.tokens")
        if tokens is None or not 0 <= token_id < tokens.length:
            return None
        with (
            self.path.open("rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view,
        ):
            pos = tokens.start
            for _ in range(token_id):
                (length,) = struct.unpack_from("<Q", view, pos)
                pos += 8 + length
            (length,) = struct.unpack_from("<Q", view, pos)
            return bytes(view[pos + 8 : pos + 8 + length]).decode("utf-8", errors="replace")

    def split_info(self) -> tuple[int, int] | None:
        """``(index, count)`` for split GGUFs (``-00001-of-00003.gguf``), else None."""
        match = SPLIT_RE.search(self.path.name)
        return (int(match.group(1)), int(match.group(2))) if match else None


@lru_cache(maxsize=1)
def gguf_constants() -> ModuleType:
    """The ``gguf`` package's constants module (quant types, block sizes, file types).

    Importing the ``gguf`` package pulls in numpy and yaml, half a second at start-up,
    while its constants module needs only the standard library; so unless the package
    is already loaded, that one file is loaded on its own.
    """
    loaded = sys.modules.get("gguf.constants")
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec("gguf")
    if spec is None or spec.origin is None:
        raise ImportError("the gguf package is not installed")
    path = Path(spec.origin).with_name("constants.py")
    file_spec = importlib.util.spec_from_file_location("_hearth_gguf_constants", path)
    if file_spec is None or file_spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(file_spec)
    file_spec.loader.exec_module(module)
    return module


class HeaderIncompleteError(Exception):
    """Internal to remote header reads: the bytes fetched so far end inside the header."""

    def __init__(self, needed: int) -> None:
        super().__init__(f"the GGUF header needs at least {needed} bytes")
        self.needed = needed


class _Cursor:
    """Bounds-checked little-endian reads over a memory map, or over the first bytes of a
    file (``size`` is then the whole file's size; reads past the bytes at hand raise
    :class:`HeaderIncompleteError` instead of calling the file truncated)."""

    def __init__(self, view: mmap.mmap | bytes, path: Path, size: int | None = None) -> None:
        self.view = view
        self.pos = 0
        self.available = len(view)
        self.size = self.available if size is None else size
        self.path = path

    def need(self, count: int, what: str) -> None:
        if count < 0 or self.pos + count > self.size:
            raise InvalidModelError(
                translate(
                    "Errors",
                    "{file} is truncated or corrupt: its header ends inside {what}. "
                    "Download the file again.",
                ).format(file=self.path.name, what=what)
            )
        if self.pos + count > self.available:
            raise HeaderIncompleteError(self.pos + count)

    def scalar(self, fmt: str, width: int, what: str) -> Any:
        self.need(width, what)
        (value,) = struct.unpack_from(fmt, self.view, self.pos)
        self.pos += width
        return value

    def u32(self, what: str) -> int:
        return int(self.scalar("<I", 4, what))

    def u64(self, what: str) -> int:
        return int(self.scalar("<Q", 8, what))

    def string(self, what: str) -> str:
        length = self.u64(what)
        self.need(length, what)
        raw = bytes(self.view[self.pos : self.pos + length])
        self.pos += length
        return raw.decode("utf-8", errors="replace")

    def skip_string(self, what: str) -> None:
        length = self.u64(what)
        self.need(length, what)
        self.pos += length


def _read_value(cur: _Cursor, value_type: int, key: str) -> Any:
    if value_type in _SCALARS:
        fmt, width = _SCALARS[value_type]
        return cur.scalar(fmt, width, f"the value of {key}")
    if value_type == _STRING:
        return cur.string(f"the value of {key}")
    raise InvalidModelError(
        translate(
            "Errors", "{file} is corrupt: metadata key {key!r} has unknown type {type}."
        ).format(file=cur.path.name, key=key, type=value_type)
    )


def _read_array(cur: _Cursor, key: str) -> tuple[list[Any] | None, ArrayInfo]:
    item_type = cur.u32(f"the array {key}")
    length = cur.u64(f"the array {key}")
    min_item = 8 if item_type == _STRING else _SCALARS.get(item_type, ("", 1))[1]
    if item_type == _ARRAY or (item_type not in _SCALARS and item_type != _STRING):
        raise InvalidModelError(
            translate(
                "Errors", "{file} is corrupt: array {key!r} has unsupported item type {type}."
            ).format(file=cur.path.name, key=key, type=item_type)
        )
    if length * min_item > cur.size - cur.pos:
        raise InvalidModelError(
            translate(
                "Errors",
                "{file} is truncated or corrupt: array {key!r} claims {length} items, "
                "more than the file can hold. Download the file again.",
            ).format(file=cur.path.name, key=key, length=length)
        )
    start = cur.pos
    values: list[Any] | None = [] if length <= _SMALL_ARRAY else None
    if item_type == _STRING:
        for _ in range(length):
            if values is not None:
                values.append(cur.string(f"the array {key}"))
            else:
                cur.skip_string(f"the array {key}")
    else:
        fmt, width = _SCALARS[item_type]
        if values is not None:
            for _ in range(length):
                values.append(cur.scalar(fmt, width, f"the array {key}"))
        else:
            cur.need(width * length, f"the array {key}")
            cur.pos += width * length
    return values, ArrayInfo(item_type, length, start, cur.pos)


def _tensor_nbytes(ggml_type: int, n_elements: int, name: str, path: Path) -> int:
    constants = gguf_constants()
    try:
        quant_type = constants.GGMLQuantizationType(ggml_type)
        block_size, type_size = constants.GGML_QUANT_SIZES[quant_type]
    except (ValueError, KeyError):
        raise InvalidModelError(
            translate(
                "Errors",
                "{file} uses tensor type {type} for {tensor!r}, which this version of "
                "Hearth does not know. Update Hearth or pick another quantisation.",
            ).format(file=path.name, type=ggml_type, tensor=name)
        ) from None
    if n_elements % block_size:
        raise InvalidModelError(
            translate(
                "Errors",
                "{file} is corrupt: tensor {tensor!r} has {n} elements, not a multiple of its "
                "block size {block}.",
            ).format(file=path.name, tensor=name, n=n_elements, block=block_size)
        )
    return int(n_elements // block_size * type_size)


def read_gguf(path: str | Path, *, check_data: bool = True) -> GGUFInfo:
    """Parse and validate ``path``'s header and tensor table.

    Raises ModelNotFoundError or InvalidModelError; never reads tensor data itself.
    With ``check_data`` the tensor data must lie entirely inside the file (a download
    cut short is caught here, before llama.cpp sees it).
    """
    file = Path(path).expanduser()
    if not file.exists():
        raise ModelNotFoundError(
            translate(
                "Errors", "No model file at {path}. Check the path or run 'hearth models ls'."
            ).format(path=file)
        )
    if file.is_dir():
        raise InvalidModelError(
            translate("Errors", "{path} is a folder, not a GGUF model file.").format(path=file)
        )
    size = file.stat().st_size
    if size == 0:
        raise InvalidModelError(
            translate("Errors", "{file} is empty (0 bytes). Download it again.").format(
                file=file.name
            )
        )
    with file.open("rb") as handle:
        if size < 24:
            raise InvalidModelError(
                translate(
                    "Errors", "{file} is too short to be a GGUF model ({size} bytes)."
                ).format(file=file.name, size=size)
            )
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
            return _parse(file, view, size, check_data)


def read_gguf_header(data: bytes, *, path: Path, file_size: int) -> GGUFInfo:
    """Parse a GGUF header from the first bytes of a file (e.g. fetched with an HTTP Range).

    ``file_size`` is the whole file's size, used for the sanity checks. Raises
    :class:`HeaderIncompleteError` (with the byte count reached) when ``data`` ends inside
    the header, InvalidModelError when the header is not a valid GGUF header. ``path`` is
    recorded in the result: long arrays are read from it later, so it should hold ``data``.
    """
    if len(data) < 24 <= file_size:
        raise HeaderIncompleteError(24)
    if file_size < 24:
        raise InvalidModelError(
            translate("Errors", "{file} is too short to be a GGUF model ({size} bytes).").format(
                file=path.name, size=file_size
            )
        )
    return _parse(path, data, file_size, check_data=False)


def _parse(file: Path, view: mmap.mmap | bytes, size: int, check_data: bool) -> GGUFInfo:
    cur = _Cursor(view, file, size)
    if bytes(view[:4]) != GGUF_MAGIC:
        raise InvalidModelError(
            translate(
                "Errors",
                "{file} is not a GGUF model file (it does not start with 'GGUF'). "
                "Hearth runs GGUF files; convert the model or download a GGUF build of it.",
            ).format(file=file.name)
        )
    cur.pos = 4
    version = cur.u32("the version")
    if version not in (2, 3):
        raise InvalidModelError(
            translate(
                "Errors", "{file} has GGUF version {version}; Hearth reads versions 2 and 3."
            ).format(file=file.name, version=version)
        )
    n_tensors = cur.u64("the tensor count")
    n_kv = cur.u64("the metadata count")
    if n_kv * _MIN_KV_BYTES > size or n_tensors * _MIN_TENSOR_INFO_BYTES > size:
        raise InvalidModelError(
            translate(
                "Errors",
                "{file} has a corrupt header: it claims {tensors} tensors and {entries} "
                "metadata entries, more than a {size}-byte file can hold. Download it again.",
            ).format(file=file.name, tensors=n_tensors, entries=n_kv, size=size)
        )
    metadata: dict[str, Any] = {}
    arrays: dict[str, ArrayInfo] = {}
    for _ in range(n_kv):
        key = cur.string("a metadata key")
        value_type = cur.u32(f"the type of {key}")
        if value_type == _ARRAY:
            values, info = _read_array(cur, key)
            arrays[key] = info
            if values is not None:
                metadata[key] = values
        else:
            metadata[key] = _read_value(cur, value_type, key)

    tensors: list[TensorInfo] = []
    for _ in range(n_tensors):
        name = cur.string("a tensor name")
        n_dims = cur.u32(f"the shape of {name}")
        if not 1 <= n_dims <= 8:
            raise InvalidModelError(
                translate(
                    "Errors", "{file} is corrupt: tensor {tensor!r} claims {n} dimensions."
                ).format(file=file.name, tensor=name, n=n_dims)
            )
        shape = tuple(cur.u64(f"the shape of {name}") for _ in range(n_dims))
        ggml_type = cur.u32(f"the type of {name}")
        offset = cur.u64(f"the offset of {name}")
        n_elements = 1
        for dim in shape:
            n_elements *= dim
        if n_elements > size * 64:  # even 1-bit types need more bytes than this
            raise InvalidModelError(
                translate(
                    "Errors", "{file} is corrupt: tensor {tensor!r} claims shape {shape}."
                ).format(file=file.name, tensor=name, shape=list(shape))
            )
        n_bytes = _tensor_nbytes(ggml_type, n_elements, name, file)
        tensors.append(TensorInfo(name, ggml_type, shape, n_elements, n_bytes, offset))

    alignment = int(metadata.get("general.alignment", DEFAULT_ALIGNMENT) or DEFAULT_ALIGNMENT)
    if alignment <= 0 or alignment & (alignment - 1):
        raise InvalidModelError(
            translate("Errors", "{file} is corrupt: alignment {alignment} is invalid.").format(
                file=file.name, alignment=alignment
            )
        )
    data_offset = (cur.pos + alignment - 1) // alignment * alignment
    absolute = [
        TensorInfo(t.name, t.ggml_type, t.shape, t.n_elements, t.n_bytes, data_offset + t.offset)
        for t in tensors
    ]
    if check_data and absolute:
        end = max(t.offset + t.n_bytes for t in absolute)
        if end > size:
            missing = end - size
            raise InvalidModelError(
                translate(
                    "Errors",
                    "{file} is truncated: its tensor data needs {need:,} bytes but the file "
                    "has {size:,} ({missing:,} missing). The download was probably cut short; "
                    "download it again.",
                ).format(file=file.name, need=end, size=size, missing=missing)
            )
    return GGUFInfo(
        path=file,
        file_size=size,
        version=version,
        metadata=metadata,
        arrays=arrays,
        tensors=absolute,
        data_offset=data_offset,
    )
