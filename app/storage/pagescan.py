"""Table rows read straight from the pages of a damaged SQLite file.

When an interior page of a B-tree is damaged, every leaf below it is cut off: no query
reaches those rows although their pages are intact. This finds them the way the sqlite3
shell's ``.recover`` does: each page that is a table leaf is parsed (cells, overflow
chains, records; sqlite.org/fileformat2.html) and the caller keeps the rows whose shape
is one of its tables'. Pages on the free list hold deleted rows and are skipped; when
the free list cannot be read, nothing is scanned, so a deleted conversation never
comes back.
"""

from __future__ import annotations

import logging
import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_MAGIC = b"SQLite format 3\x00"
_TABLE_LEAF = 0x0D
_UTF8 = 1


class _Unreadable(Exception):
    """Internal: a structure that cannot be what it claims (out of range, a loop)."""


@dataclass(frozen=True)
class Row:
    """One row found on a leaf page: its rowid and its column values."""

    page: int
    rowid: int
    values: list[Any]


def _u32(data: bytes | mmap.mmap, at: int) -> int:
    return int.from_bytes(data[at : at + 4], "big")


def _varint(data: bytes | mmap.mmap, at: int, end: int) -> tuple[int, int]:
    """SQLite's big-endian varint at ``at`` (up to 9 bytes): ``(value, next offset)``."""
    value = 0
    for i in range(9):
        if at + i >= end:
            raise _Unreadable("varint past the end")
        byte = data[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    raise _Unreadable("varint")  # not reached: the loop returns at i == 8


class _File:
    def __init__(self, data: mmap.mmap) -> None:
        self.data = data
        if data[:16] != _MAGIC:
            raise _Unreadable("no SQLite header")
        size = int.from_bytes(data[16:18], "big")
        self.page_size = 65536 if size == 1 else size
        if self.page_size < 512 or self.page_size & (self.page_size - 1):
            raise _Unreadable(f"page size {self.page_size}")
        self.usable = self.page_size - data[20]
        self.pages = len(data) // self.page_size
        if _u32(data, 56) not in (0, _UTF8):
            raise _Unreadable("text is not UTF-8")

    def offset(self, page: int) -> int:
        if not 1 <= page <= self.pages:
            raise _Unreadable(f"page {page} is outside the file")
        return (page - 1) * self.page_size

    def free_pages(self) -> set[int]:
        """Every page on the free list (trunks and leaves)."""
        free: set[int] = set()
        trunk, expected = _u32(self.data, 32), _u32(self.data, 36)
        while trunk:
            if trunk in free:
                raise _Unreadable("the free list loops")
            at = self.offset(trunk)
            free.add(trunk)
            count = _u32(self.data, at + 4)
            if count > self.usable // 4 - 2:
                raise _Unreadable("a free-list trunk page is damaged")
            for i in range(count):
                leaf = _u32(self.data, at + 8 + 4 * i)
                self.offset(leaf)
                free.add(leaf)
            trunk = _u32(self.data, at)
        if len(free) != expected:
            raise _Unreadable("the free list does not add up")
        return free

    def payload(self, page_at: int, cell: int, size: int) -> bytes:
        """A cell's payload of ``size`` bytes starting at ``cell``, overflow included."""
        local_max = self.usable - 35
        if size <= local_max:
            local = size
        else:
            least = (self.usable - 12) * 32 // 255 - 23
            local = least + (size - least) % (self.usable - 4)
            if local > local_max:
                local = least
        if cell + local > page_at + self.page_size:
            raise _Unreadable("cell runs off its page")
        parts = [self.data[cell : cell + local]]
        remaining = size - local
        next_page = _u32(self.data, cell + local) if remaining else 0
        seen: set[int] = set()
        while remaining > 0:
            if next_page in seen:
                raise _Unreadable("overflow chain loops")
            seen.add(next_page)
            at = self.offset(next_page)
            chunk = min(remaining, self.usable - 4)
            parts.append(self.data[at + 4 : at + 4 + chunk])
            remaining -= chunk
            next_page = _u32(self.data, at)
        return b"".join(parts)

    def leaf_rows(self, page: int) -> Iterator[Row]:
        at = self.offset(page)
        header = at + (100 if page == 1 else 0)
        if self.data[header] != _TABLE_LEAF:
            return
        count = int.from_bytes(self.data[header + 3 : header + 5], "big")
        cells_start = header + 8 + 2 * count
        for i in range(count):
            pointer = int.from_bytes(self.data[header + 8 + 2 * i : header + 10 + 2 * i], "big")
            cell = at + pointer
            if not cells_start <= cell < at + self.usable:
                continue
            try:
                size, after = _varint(self.data, cell, at + self.page_size)
                rowid, after = _varint(self.data, after, at + self.page_size)
                values = _record(self.payload(at, after, size))
            except (_Unreadable, UnicodeDecodeError, struct.error):
                continue
            yield Row(page, rowid - (1 << 64) if rowid >= 1 << 63 else rowid, values)


def _record(payload: bytes) -> list[Any]:
    """The column values of an SQLite record."""
    header_size, at = _varint(payload, 0, len(payload))
    if header_size > len(payload):
        raise _Unreadable("record header")
    types: list[int] = []
    while at < header_size:
        serial, at = _varint(payload, at, header_size)
        types.append(serial)
    values: list[Any] = []
    at = header_size
    for serial in types:
        if serial == 0:
            values.append(None)
        elif 1 <= serial <= 6:
            width = (1, 2, 3, 4, 6, 8)[serial - 1]
            if at + width > len(payload):
                raise _Unreadable("record value")
            values.append(int.from_bytes(payload[at : at + width], "big", signed=True))
            at += width
        elif serial == 7:
            values.append(struct.unpack(">d", payload[at : at + 8])[0])
            at += 8
        elif serial in (8, 9):
            values.append(serial - 8)
        elif serial >= 12:
            width = (serial - 12) // 2
            if at + width > len(payload):
                raise _Unreadable("record value")
            raw = payload[at : at + width]
            values.append(raw if serial % 2 == 0 else raw.decode("utf-8", "replace"))
            at += width
        else:
            raise _Unreadable(f"serial type {serial}")
    return values


def table_leaf_rows(path: Path) -> Iterator[Row]:
    """Every row on every table leaf page of ``path`` that is not on the free list.

    Yields nothing when the header or the free list cannot be read.
    """
    try:
        with (
            path.open("rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
        ):
            try:
                file = _File(data)
                free = file.free_pages()
            except _Unreadable as exc:
                log.warning("page scan of %s skipped: %s", path, exc)
                return
            for page in range(1, file.pages + 1):
                if page not in free:
                    yield from file.leaf_rows(page)
    except (OSError, ValueError) as exc:  # ValueError: mmap of an empty file
        log.warning("page scan of %s failed: %s", path, exc)
