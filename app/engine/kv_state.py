"""Saved KV state of recent conversations, so reopening one does not read it again.

After a reply the worker saves sequence 0 of the KV cache (llama.cpp's
``llama_state_seq_get_data``: only the cells in use, ~23 KB a token for the starter
model at f16) with the tokens it holds. Before a prompt is evaluated, the saved state
whose tokens share the longest prefix with the prompt is put back
(``llama_state_seq_set_data``) when that prefix is longer than what the cache already
holds; llama-cpp-python's own prefix rule then evaluates only the rest.

Keys need no conversation id: a file is named by the load's identity (the model file,
its size and time, the context, the cache type, flash attention, llama.cpp's version)
and a hash of its tokens. A conversation's older, shorter state is deleted when a
longer one is saved, and the folder is kept under its cap by deleting the least
recently used files. A file that is damaged, cut short or made for another load is
deleted and the prompt is evaluated from scratch.

Files: ``HKVS1`` magic, a little-endian u32 header length, a JSON header (identity,
token count, payload size and SHA-256), the tokens as int32, then llama.cpp's payload.
Writing (hashing included) runs on a background thread; the worker waits for it only
before the next lookup and when the model is unloaded.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import logging
import os
import struct
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.core.private import private_dir, private_opener

log = logging.getLogger(__name__)

MAGIC = b"HKVS1"
SUFFIX = ".kvs"
# Below this many tokens evaluating the prompt costs less than reading a file.
MIN_TOKENS = 64
# A restore must win at least this many tokens over the cache's own prefix.
MIN_GAIN = 32


@dataclass
class _Entry:
    path: Path
    tokens: np.ndarray  # int32


def load_identity(
    model_path: str, *, n_ctx: int, kv_type: str, flash_attn: bool, extra: str = ""
) -> str:
    """A hash that changes with anything that makes a saved state unusable."""
    import llama_cpp

    stat = Path(model_path).stat()
    text = "|".join(
        str(part)
        for part in (
            Path(model_path).resolve(),
            stat.st_size,
            stat.st_mtime_ns,
            n_ctx,
            kv_type,
            flash_attn,
            llama_cpp.__version__,
            extra,
        )
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def common_prefix(a: np.ndarray, b: np.ndarray) -> int:
    """How many leading tokens ``a`` and ``b`` share."""
    n = min(len(a), len(b))
    if n == 0:
        return 0
    differ = np.flatnonzero(a[:n] != b[:n])
    return int(differ[0]) if len(differ) else n


def cached_prefix(llm: Any, tokens: list[int]) -> int:
    """Tokens of ``tokens`` the KV cache of ``llm`` already holds (what
    ``engine.decode._uncached_suffix`` will keep)."""
    held = np.asarray(llm.input_ids[: llm.n_tokens], dtype=np.int32)
    return common_prefix(held, np.asarray(tokens, dtype=np.int32))


class KVStateStore:
    """The saved states of one load (``identity``) in ``folder``, under ``cap_bytes``."""

    def __init__(self, folder: Path, cap_bytes: int, identity: str) -> None:
        self.folder = folder
        self.cap_bytes = cap_bytes
        self.identity = identity
        self._prefix = identity[:20]
        self._entries: list[_Entry] | None = None
        self._lock = threading.Lock()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kv-state")
        self._pending: Future[None] | None = None
        self.saved = 0  # states written since the store opened
        self.restored_tokens = 0  # tokens the last restore put back (0: none)

    # -- lookup and restore ------------------------------------------------------------
    def restore(self, llm: Any, tokens: list[int]) -> int:
        """Put back the saved state sharing the longest prefix with ``tokens`` when it
        beats the cache's own; the tokens now reusable (0: nothing restored)."""
        self.restored_tokens = 0
        if len(tokens) < MIN_TOKENS:
            return 0
        self.flush()
        prompt = np.asarray(tokens, dtype=np.int32)
        have = cached_prefix(llm, tokens)
        best: tuple[int, _Entry] | None = None
        for entry in self._index():
            shared = common_prefix(entry.tokens, prompt)
            if shared >= have + MIN_GAIN and (best is None or shared > best[0]):
                best = (shared, entry)
        if best is None:
            return 0
        shared, entry = best
        if not self._put_back(llm, entry):
            return 0
        self.restored_tokens = shared
        return shared

    def _put_back(self, llm: Any, entry: _Entry) -> bool:
        import llama_cpp

        payload = self._payload(entry)
        if payload is None:
            return False
        llm._ctx.kv_cache_seq_rm(-1, 0, -1)  # the whole cache: the state replaces it
        buffer = (ctypes.c_uint8 * len(payload)).from_buffer_copy(payload)
        read = llama_cpp.llama_state_seq_set_data(llm.ctx, buffer, len(payload), 0)
        if read == 0:
            log.warning("llama.cpp refused the saved state %s; deleting it", entry.path.name)
            llm.reset()
            llm._ctx.kv_cache_seq_rm(-1, 0, -1)
            self._drop(entry)
            return False
        n = len(entry.tokens)
        llm.input_ids[:n] = entry.tokens
        llm.n_tokens = n
        llm._requires_eval = True  # no logits came with it: the last token runs again
        with contextlib.suppress(OSError):
            os.utime(entry.path)  # recently used: the cap deletes others first
        log.info("restored %d tokens of KV state from %s", n, entry.path.name)
        return True

    def _payload(self, entry: _Entry) -> bytes | None:
        """The file's llama.cpp payload, checked; None (and the file deleted) if bad."""
        try:
            header, _tokens, payload = _read(entry.path, with_payload=True)
            if (
                header.get("identity") != self.identity
                or len(payload) != header.get("payload_bytes")
                or hashlib.sha256(payload).hexdigest() != header.get("sha256")
            ):
                raise ValueError("its contents do not match its header")
        except (OSError, ValueError) as exc:
            log.warning("saved KV state %s is unusable (%s); deleting it", entry.path.name, exc)
            self._drop(entry)
            return None
        return payload

    # -- saving -------------------------------------------------------------------------
    def save(self, llm: Any) -> None:
        """Save what the KV cache holds now (sequence 0), written in the background."""
        import llama_cpp

        n = int(llm.n_tokens)
        if n < MIN_TOKENS:
            return
        self.flush()
        tokens = np.array(llm.input_ids[:n], dtype=np.int32)
        for entry in self._index():
            if len(entry.tokens) == n and common_prefix(entry.tokens, tokens) == n:
                return  # this very state is saved already
        size = int(llama_cpp.llama_state_seq_get_size(llm.ctx, 0))
        buffer = (ctypes.c_uint8 * size)()
        written = int(llama_cpp.llama_state_seq_get_data(llm.ctx, buffer, size, 0))
        if written <= 0:
            return
        payload = bytes(memoryview(buffer)[:written])
        self._pending = self._writer.submit(self._write, tokens, payload)

    def _write(self, tokens: np.ndarray, payload: bytes) -> None:
        name = f"{self._prefix}-{hashlib.sha256(tokens.tobytes()).hexdigest()[:32]}{SUFFIX}"
        path = self.folder / name
        header = json.dumps(
            {
                "identity": self.identity,
                "n_tokens": len(tokens),
                "payload_bytes": len(payload),
                "sha256": hashlib.sha256(payload).hexdigest(),
            }
        ).encode("utf-8")
        if len(payload) + len(header) + 4 * len(tokens) > self.cap_bytes:
            return  # one state larger than the whole cap is never kept
        try:
            private_dir(self.folder)  # a conversation's state is as private as its text
            partial = path.with_suffix(".partial")
            with open(partial, "wb", opener=private_opener) as out:
                out.write(MAGIC + struct.pack("<I", len(header)) + header)
                out.write(tokens.tobytes())
                out.write(payload)
            os.replace(partial, path)
        except OSError as exc:
            log.warning("cannot save KV state to %s: %s", self.folder, exc)
            return
        with self._lock:
            entries = self._index()
            # The same conversation's shorter states are of no more use.
            for entry in [e for e in entries if e.path != path]:
                if len(entry.tokens) < len(tokens) and (
                    common_prefix(entry.tokens, tokens) == len(entry.tokens)
                ):
                    self._drop(entry)
            entries[:] = [e for e in entries if e.path != path]
            entries.append(_Entry(path, tokens))
            self.saved += 1
        self._enforce_cap()

    def _enforce_cap(self) -> None:
        """Delete the least recently used files (of any load) until under the cap."""
        try:
            files = [(f.stat().st_mtime, f.stat().st_size, f) for f in self.folder.glob("*.kvs")]
        except OSError:
            return
        total = sum(size for _, size, _ in files)
        for _, size, file in sorted(files, key=lambda item: item[0]):
            if total <= self.cap_bytes:
                break
            file.unlink(missing_ok=True)
            total -= size
            with self._lock:
                if self._entries is not None:
                    self._entries[:] = [e for e in self._entries if e.path != file]

    def flush(self) -> None:
        """Wait for the state being written, if any."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        self.flush()
        self._writer.shutdown(wait=True)

    # -- the index ----------------------------------------------------------------------
    def _index(self) -> list[_Entry]:
        """This load's saved states (headers and tokens only, read once)."""
        if self._entries is None:
            entries = []
            for path in sorted(self.folder.glob(f"{self._prefix}-*{SUFFIX}")):
                try:
                    header, tokens, _ = _read(path, with_payload=False)
                    if header.get("identity") != self.identity:
                        raise ValueError("it was made for another load")
                except (OSError, ValueError) as exc:
                    log.warning("saved KV state %s is unusable (%s); deleting it", path.name, exc)
                    path.unlink(missing_ok=True)
                    continue
                entries.append(_Entry(path, tokens))
            self._entries = entries
        return self._entries

    def _drop(self, entry: _Entry) -> None:
        entry.path.unlink(missing_ok=True)
        if self._entries is not None and entry in self._entries:
            self._entries.remove(entry)


def _read(path: Path, *, with_payload: bool) -> tuple[dict[str, Any], np.ndarray, bytes]:
    """A state file's header, tokens and (if asked) payload; ValueError if malformed."""
    with path.open("rb") as file:
        head = file.read(len(MAGIC) + 4)
        if len(head) != len(MAGIC) + 4 or not head.startswith(MAGIC):
            raise ValueError("it is not a Hearth KV state file")
        (header_len,) = struct.unpack("<I", head[len(MAGIC) :])
        if header_len > 1 << 16:
            raise ValueError("its header is too long")
        try:
            header = json.loads(file.read(header_len).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError("its header is damaged") from exc
        if not isinstance(header, dict):
            raise ValueError("its header is damaged")
        n_tokens = header.get("n_tokens")
        if not isinstance(n_tokens, int) or n_tokens <= 0:
            raise ValueError("its token count is damaged")
        raw = file.read(4 * n_tokens)
        if len(raw) != 4 * n_tokens:
            raise ValueError("it is cut short")
        tokens = np.frombuffer(raw, dtype=np.int32).copy()
        payload = file.read() if with_payload else b""
    return header, tokens, payload
