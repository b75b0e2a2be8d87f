"""Where a table's rows lie in an SQLite file, read from the file format itself.

sqlite.org/fileformat2.html: page 1 starts with a 100-byte header (page size at offset
16); a B-tree page starts with its type (0x05 table interior, 0x0D table leaf, 0x02
index interior, 0x0A index leaf), its cell count at +3, an interior page's right-most
child at +8, then 2-byte cell offsets (after 8 header bytes on a leaf, 12 on an
interior page); an interior cell starts with its left child's 4-byte page number, a
table leaf cell with its payload size and rowid as varints.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path

_INTERIOR = (0x05, 0x02)
_LEAF = (0x0D, 0x0A)


@dataclass(frozen=True)
class Tree:
    """A B-tree's pages: ``interior`` (root first when the root is interior) and ``leaves``."""

    root: int
    interior: list[int]
    leaves: list[int]


def page_size(data: bytes | bytearray) -> int:
    size = int.from_bytes(data[16:18], "big")
    return 65536 if size == 1 else size


def _header(data: bytes, page: int) -> int:
    return (page - 1) * page_size(data) + (100 if page == 1 else 0)


def _cells(data: bytes, page: int) -> list[int]:
    """Absolute offsets of the page's cells."""
    start = (page - 1) * page_size(data)
    header = _header(data, page)
    count = int.from_bytes(data[header + 3 : header + 5], "big")
    array = header + (12 if data[header] in _INTERIOR else 8)
    return [
        start + int.from_bytes(data[array + 2 * i : array + 2 * i + 2], "big") for i in range(count)
    ]


def tree(path: Path, name: str) -> Tree:
    """The pages of table or index ``name`` (the file must be checkpointed: no -wal)."""
    with sqlite3.connect(path) as conn:
        root = int(
            conn.execute("SELECT rootpage FROM sqlite_schema WHERE name = ?", (name,)).fetchone()[0]
        )
    data = path.read_bytes()
    interior: list[int] = []
    leaves: list[int] = []
    pending = [root]
    while pending:
        page = pending.pop(0)
        kind = data[_header(data, page)]
        if kind in _LEAF:
            leaves.append(page)
            continue
        assert kind in _INTERIOR, f"page {page} has type {kind:#x}"
        interior.append(page)
        header = _header(data, page)
        children = [int.from_bytes(data[c : c + 4], "big") for c in _cells(data, page)]
        pending += [*children, int.from_bytes(data[header + 8 : header + 12], "big")]
    return Tree(root, interior, leaves)


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = 0
    for i in range(9):
        byte = data[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    raise AssertionError("unreachable")


def leaf_rowids(path: Path, page: int) -> list[int]:
    """The rowids of the rows on a table leaf page."""
    data = path.read_bytes()
    assert data[_header(data, page)] == 0x0D
    rowids = []
    for cell in _cells(data, page):
        _, at = _varint(data, cell)
        rowid, _ = _varint(data, at)
        rowids.append(rowid)
    return rowids


def free_pages(path: Path) -> set[int]:
    """The pages on the free list: trunk pages from header offset 32, each listing its
    leaves after a next-trunk pointer and a count."""
    data = path.read_bytes()
    size = page_size(data)
    free: set[int] = set()
    trunk = int.from_bytes(data[32:36], "big")
    while trunk:
        at = (trunk - 1) * size
        free.add(trunk)
        count = int.from_bytes(data[at + 4 : at + 8], "big")
        free.update(
            int.from_bytes(data[at + 8 + 4 * i : at + 12 + 4 * i], "big") for i in range(count)
        )
        trunk = int.from_bytes(data[at : at + 4], "big")
    assert len(free) == int.from_bytes(data[36:40], "big")
    return free


def dbstat_pages(path: Path, name: str) -> set[int] | None:
    """The same pages as SQLite's dbstat table lists them, when this build has it."""
    try:
        with sqlite3.connect(path) as conn:
            rows = conn.execute(
                "SELECT pageno FROM dbstat WHERE name = ? AND pagetype <> 'overflow'", (name,)
            ).fetchall()
    except sqlite3.OperationalError:
        return None
    return {int(r[0]) for r in rows}


def write_garbage(path: Path, page: int, seed: int = 11) -> bytes:
    """Overwrite one whole page (4 KiB by default) with random bytes; the file after."""
    data = bytearray(path.read_bytes())
    size = page_size(data)
    data[(page - 1) * size : page * size] = random.Random(seed).randbytes(size)
    path.write_bytes(bytes(data))
    return bytes(data)
