"""Saved KV state of recent conversations, so going back to one does not read it again.

Two tiers in front of llama.cpp's own cache (which holds one conversation at a time):

- **RAM slots**: when a prompt is about to push another conversation out of the KV
  cache (the window's conversation, then an API request, then the window's again), the
  cache's state is copied into a slot first (``llama_state_seq_get_data``: only the
  cells in use, ~23 KB a token for the starter model at f16). The slots of the few most
  recent conversations are kept, within ``ram_bytes``; they die with the worker.
- **Disk**: after a reply to a stored conversation (``GenerationParams.kv_key`` set), its
  state is written to a file tagged with that key (``engine.kv_files``), one file per
  conversation and load; deleting the conversation deletes its files. Replies without a
  key (API requests, private chats) never reach the disk.

Before a prompt is evaluated, the slot or file whose tokens share the longest prefix with
the prompt is put back (``llama_state_seq_set_data``) when that prefix beats what the
cache already holds by ``MIN_RAM_GAIN`` tokens (a slot) or ``MIN_GAIN`` (a file); the
token loop then evaluates only the rest.

A file is named by the load's identity (the model file, its size and time, the context,
the cache type, flash attention, llama.cpp's version), its conversation's tag and a hash
of its tokens. The folder is kept under its cap by deleting the least recently used
files. A file that is damaged, cut short or made for another load is deleted and the
prompt evaluated from scratch.

Files: ``HKVS1`` magic, a little-endian u32 header length, a JSON header (identity,
token count, payload size and SHA-256), the tokens as int32, then llama.cpp's payload.
Writing (hashing included) runs on a background thread; the worker waits for it only
before the next lookup, a deletion, and when the model is unloaded.
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
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.core.private import private_opener
from app.engine.kv_files import PARTIAL, SUFFIX, folder_lock, key_tag, name_tag, state_name

log = logging.getLogger(__name__)

__all__ = ["SUFFIX", "KVStateStore", "cached_prefix", "common_prefix", "load_identity"]

MAGIC = b"HKVS1"
# Below this many tokens evaluating the prompt costs less than reading a file.
MIN_TOKENS = 64
# A restore from a file must win at least this many tokens over the cache's own prefix.
MIN_GAIN = 32
# A RAM slot is a copy (~23 KB a token for the starter model, well under a millisecond
# for a short prompt) against a forward pass over each token (1.5 to 2 ms a token
# there on two cores): it pays off for short prompts too, such as an API client's
# questions asked in turn, which llama-server's own prompt cache puts back as well.
MIN_RAM_TOKENS = 16
MIN_RAM_GAIN = 8
# The lookup compares the prompt with every slot: a few microseconds each.
MAX_SLOTS = 32


# eq=False: equal by identity (a generated __eq__ would compare the token arrays
# element by element, which fails for arrays of different lengths).
@dataclass(eq=False)
class _Entry:
    """A state file of this load."""

    path: Path
    tokens: np.ndarray  # int32
    tag: str  # its conversation's key tag (engine.kv_files)


@dataclass(eq=False)
class _Slot:
    """A state kept in RAM."""

    key: str | None  # the conversation it holds (None: a reply without a key)
    tokens: np.ndarray  # int32
    payload: bytes


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


def common_prefix(a: Any, b: Any) -> int:
    """How many leading tokens ``a`` and ``b`` (arrays or lists of ints) share."""
    a = np.asarray(a)
    b = np.asarray(b)
    n = min(len(a), len(b))
    if n == 0:
        return 0
    differ = np.flatnonzero(a[:n] != b[:n])
    return int(differ[0]) if len(differ) else n


def cached_prefix(llm: Any, tokens: list[int]) -> int:
    """Tokens of ``tokens`` the KV cache of ``llm`` already holds."""
    return common_prefix(llm.input_ids[: llm.n_tokens], np.asarray(tokens, dtype=np.int32))


class KVStateStore:
    """One load's saved states: RAM slots (``ram_bytes``) and files in ``folder`` (None:
    none on disk) under ``cap_bytes``; ``identity`` names the load."""

    def __init__(
        self, folder: Path | None, cap_bytes: int, identity: str, ram_bytes: int = 0
    ) -> None:
        self.folder = folder if cap_bytes > 0 else None
        self.cap_bytes = cap_bytes
        self.identity = identity
        self.ram_bytes = ram_bytes
        self._prefix = identity[:20]
        self._entries: list[_Entry] | None = None
        self._slots: list[_Slot] = []  # least recently used first
        self._lock = threading.Lock()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kv-state")
        self._pending: Future[None] | None = None
        self._cache_key: str | None = None  # whose tokens llama.cpp's cache holds now
        self._tainted = False  # the cache holds images or adapters' values: never kept
        self._last: tuple[np.ndarray, bytes] | None = None  # the state save() last copied
        self.saved = 0  # files written since the store opened
        self.kept_in_ram = 0  # states copied into a slot since the store opened
        self.restored_tokens = 0  # tokens the last restore put back (0: none)
        self.restored_from = ""  # "ram" or "disk" (the last restore), "" for none

    # -- lookup and restore ------------------------------------------------------------
    def restore(self, llm: Any, tokens: list[int], key: str | None = None) -> int:
        """Before ``tokens`` (a prompt of conversation ``key``) are evaluated: keep the
        conversation the cache holds in a RAM slot if the prompt pushes it out, then put
        back the state sharing the longest prefix with ``tokens`` when it beats the
        cache's own; the tokens now reusable (0: nothing restored)."""
        self.restored_tokens = 0
        self.restored_from = ""
        held = int(llm.n_tokens)
        prompt = np.asarray(tokens, dtype=np.int32)
        have = common_prefix(llm.input_ids[:held], prompt)
        if not self._tainted and held >= MIN_RAM_TOKENS and held - have >= MIN_RAM_GAIN:
            self._keep_in_ram(llm, held)
        self._tainted = False
        self._cache_key = key
        if len(tokens) < MIN_RAM_TOKENS:
            return 0
        candidates: list[tuple[_Slot | _Entry, int]] = [(s, MIN_RAM_GAIN) for s in self._slots]
        if len(tokens) >= MIN_TOKENS:
            self.flush()
            candidates += [(e, MIN_GAIN) for e in self._index()]
        best: tuple[int, _Slot | _Entry] | None = None
        for candidate, gain in candidates:  # a slot wins a tie: no file read
            shared = common_prefix(candidate.tokens, prompt)
            if shared >= have + gain and (best is None or shared > best[0]):
                best = (shared, candidate)
        if best is None:
            return 0
        shared, chosen = best
        if isinstance(chosen, _Slot):
            self._slots.remove(chosen)  # the cache holds it now; kept again when pushed out
            if not self._set_state(llm, chosen.tokens, chosen.payload, None):
                return 0
            self.restored_from = "ram"
        else:
            payload = self._payload(chosen)
            if payload is None or not self._set_state(llm, chosen.tokens, payload, chosen):
                return 0
            with contextlib.suppress(OSError):
                os.utime(chosen.path)  # recently used: the cap deletes others first
            self.restored_from = "disk"
        self.restored_tokens = shared
        return shared

    def taint(self) -> None:
        """The reply about to run puts values into the cache that no saved state may
        carry (images, LoRA adapters): its cache is never kept."""
        self._tainted = True
        self._cache_key = None
        self.restored_tokens = 0
        self.restored_from = ""

    def _set_state(
        self, llm: Any, tokens: np.ndarray, payload: bytes, source: _Entry | None
    ) -> bool:
        import llama_cpp

        llm._ctx.kv_cache_seq_rm(-1, 0, -1)  # the whole cache: the state replaces it
        buffer = (ctypes.c_uint8 * len(payload)).from_buffer_copy(payload)
        read = llama_cpp.llama_state_seq_set_data(llm.ctx, buffer, len(payload), 0)
        if read == 0:
            log.warning("llama.cpp refused a saved KV state; dropping it")
            llm.reset()
            llm._ctx.kv_cache_seq_rm(-1, 0, -1)
            if source is not None:
                self._drop(source)
            return False
        n = len(tokens)
        llm.input_ids[:n] = tokens
        llm.n_tokens = n
        llm._requires_eval = True  # no logits came with it: the last token runs again
        log.info("restored %d tokens of KV state", n)
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

    # -- RAM slots ----------------------------------------------------------------------
    def _keep_in_ram(self, llm: Any, n: int) -> None:
        """Copy the cache's state (``n`` tokens) into a slot, before it is pushed out."""
        if self.ram_bytes <= 0:
            return
        tokens = np.array(llm.input_ids[:n], dtype=np.int32)
        last = self._last
        payload: bytes | None
        if last is not None and len(last[0]) == n and common_prefix(last[0], tokens) == n:
            payload = last[1]  # save() copied this very state
        else:
            payload = _state_bytes(llm, limit=self.ram_bytes)
        if payload is None or len(payload) + tokens.nbytes > self.ram_bytes:
            return
        key = self._cache_key
        self._slots = [
            s
            for s in self._slots
            if not (key is not None and s.key == key)
            and common_prefix(s.tokens, tokens) < len(s.tokens)
        ]
        self._slots.append(_Slot(key, tokens, payload))
        self.kept_in_ram += 1
        while self.slot_bytes > self.ram_bytes or len(self._slots) > MAX_SLOTS:
            self._slots.pop(0)

    @property
    def slot_bytes(self) -> int:
        """RAM the slots take."""
        return sum(len(s.payload) + s.tokens.nbytes for s in self._slots)

    @property
    def slots(self) -> int:
        return len(self._slots)

    # -- saving -------------------------------------------------------------------------
    def save(self, llm: Any, key: str | None = None) -> None:
        """After a reply: save what the KV cache holds now (sequence 0) to conversation
        ``key``'s file, written in the background; a reply without a key is not saved."""
        self._cache_key = key
        self._last = None
        n = int(llm.n_tokens)
        if key is None or self.folder is None or n < MIN_TOKENS:
            return
        self.flush()
        tokens = np.array(llm.input_ids[:n], dtype=np.int32)
        tag = key_tag(key)
        for entry in self._index():
            if (
                entry.tag == tag
                and len(entry.tokens) == n
                and common_prefix(entry.tokens, tokens) == n
            ):
                return  # this very state is saved already
        payload = _state_bytes(llm)
        if payload is None:
            return
        self._last = (tokens, payload)
        self._pending = self._writer.submit(self._write, tokens, payload, key)

    def _write(self, tokens: np.ndarray, payload: bytes, key: str) -> None:
        folder = self.folder
        assert folder is not None
        tag = key_tag(key)
        path = folder / state_name(
            self._prefix, key, hashlib.sha256(tokens.tobytes()).hexdigest()[:32]
        )
        header = json.dumps(
            {
                "identity": self.identity,
                "key_tag": tag,
                "n_tokens": len(tokens),
                "payload_bytes": len(payload),
                "sha256": hashlib.sha256(payload).hexdigest(),
            }
        ).encode("utf-8")
        if len(payload) + len(header) + 4 * len(tokens) > self.cap_bytes:
            return  # one state larger than the whole cap is never kept
        try:
            with folder_lock(folder):  # a deletion in another process waits for it
                partial = path.with_suffix(PARTIAL)
                with open(partial, "wb", opener=private_opener) as out:
                    out.write(MAGIC + struct.pack("<I", len(header)) + header)
                    out.write(tokens.tobytes())
                    out.write(payload)
                os.replace(partial, path)
                with self._lock:
                    entries = self._index()
                    # One file per conversation and load: the newest.
                    for entry in [e for e in entries if e.tag == tag and e.path != path]:
                        self._drop(entry)
                    entries[:] = [e for e in entries if e.path != path]
                    entries.append(_Entry(path, tokens, tag))
                    self.saved += 1
                self._enforce_cap(folder)
        except OSError as exc:
            log.warning("cannot save KV state to %s: %s", folder, exc)

    def _enforce_cap(self, folder: Path) -> None:
        """Delete the least recently used files (of any load) until under the cap."""
        try:
            files = [(f.stat().st_mtime, f.stat().st_size, f) for f in folder.glob(f"*{SUFFIX}")]
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
        self._slots.clear()

    # -- forgetting ---------------------------------------------------------------------
    def forget(self, keys: Iterable[str], *, everything: bool = False) -> bool:
        """Drop these conversations' slots and index entries (their files are deleted by
        ``kv_files.forget_files``, after this); True when the live cache holds one of them
        (the caller then empties it)."""
        self.flush()  # a file being written is finished, so the deletion finds it
        keys = set(keys)
        tags = {key_tag(key) for key in keys}
        with self._lock:
            if everything:
                self._slots.clear()
                self._entries = None
            else:
                self._slots = [s for s in self._slots if s.key not in keys]
                if self._entries is not None:
                    self._entries[:] = [e for e in self._entries if e.tag not in tags]
        self._last = None
        live = everything or self._cache_key in keys
        if live:
            self._cache_key = None
        return live

    # -- the index ----------------------------------------------------------------------
    def _index(self) -> list[_Entry]:
        """This load's saved states (headers and tokens only, read once)."""
        if self._entries is None:
            entries = []
            folder = self.folder
            paths = sorted(folder.glob(f"{self._prefix}-*{SUFFIX}")) if folder else []
            for path in paths:
                tag = name_tag(path)
                try:
                    if tag is None:
                        raise ValueError("its name has no conversation")
                    header, tokens, _ = _read(path, with_payload=False)
                    if header.get("identity") != self.identity:
                        raise ValueError("it was made for another load")
                except (OSError, ValueError) as exc:
                    log.warning("saved KV state %s is unusable (%s); deleting it", path.name, exc)
                    path.unlink(missing_ok=True)
                    continue
                entries.append(_Entry(path, tokens, tag))
            self._entries = entries
        return self._entries

    def _drop(self, entry: _Entry) -> None:
        entry.path.unlink(missing_ok=True)
        if self._entries is not None and entry in self._entries:
            self._entries.remove(entry)


def _state_bytes(llm: Any, limit: int | None = None) -> bytes | None:
    """Sequence 0 of ``llm``'s KV cache as llama.cpp saves it (None: it saved nothing,
    or it is larger than ``limit`` bytes: not copied at all)."""
    import llama_cpp

    size = int(llama_cpp.llama_state_seq_get_size(llm.ctx, 0))
    if limit is not None and size > limit:
        return None
    buffer = (ctypes.c_uint8 * size)()
    written = int(llama_cpp.llama_state_seq_get_data(llm.ctx, buffer, size, 0))
    return bytes(memoryview(buffer)[:written]) if written > 0 else None


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
