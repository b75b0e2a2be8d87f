"""The conversation list's groups: pinned, then Today, Yesterday, Previous 7 days, Older.

Plain Python (no Qt) so the rules are tested with a fixed "now". Days are local
calendar days: a conversation from 23:50 yesterday is "Yesterday" at 00:10 today.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import PurePath
from typing import Generic, Protocol, TypeVar

PINNED = "pinned"
TODAY = "today"
YESTERDAY = "yesterday"
WEEK = "week"  # the 7 days before yesterday
OLDER = "older"
ORDER = (PINNED, TODAY, YESTERDAY, WEEK, OLDER)

# Quantisation and packaging tags that make a file name long but say nothing of the model.
_TAGS = re.compile(
    r"[-_.](?:gguf|i?q\d(?:_[a-z0-9]+)*|f16|f32|bf16|fp16|imat(?:rix)?)$", re.IGNORECASE
)


class Dated(Protocol):
    @property
    def updated_at(self) -> float: ...
    @property
    def pinned(self) -> bool: ...


T = TypeVar("T", bound=Dated)


@dataclass(frozen=True)
class Group(Generic[T]):
    key: str  # one of ORDER
    items: list[T]


def day_group(updated_at: float, today: date) -> str:
    """Which dated group a time (Unix seconds) falls in, seen on local day ``today``."""
    day = datetime.fromtimestamp(updated_at).date()
    if day >= today:  # the future (a clock set back) counts as today
        return TODAY
    if day == today - timedelta(days=1):
        return YESTERDAY
    if day >= today - timedelta(days=8):
        return WEEK
    return OLDER


def group_conversations(items: Sequence[T], now: datetime | None = None) -> list[Group[T]]:
    """``items`` in their groups, in ORDER, empty groups left out; each group newest first."""
    today = (now or datetime.now()).date()
    buckets: dict[str, list[T]] = {key: [] for key in ORDER}
    for item in items:
        buckets[PINNED if item.pinned else day_group(item.updated_at, today)].append(item)
    return [
        Group(key, sorted(found, key=lambda c: c.updated_at, reverse=True))
        for key, found in buckets.items()
        if found
    ]


def short_model_name(model: str | None, limit: int = 24) -> str:
    """A model's name short enough for a list row: no folder, no ``.gguf``, no
    quantisation tag, then cut at a word boundary (``-``, ``_``, space) under ``limit``."""
    if not model:
        return ""
    name = PurePath(model.replace("\\", "/")).name
    if name.lower().endswith(".gguf"):
        name = name[:-5]
    while True:
        shorter = _TAGS.sub("", name)
        if shorter == name or not shorter:
            break
        name = shorter
    if len(name) <= limit:
        return name
    cut = max(name.rfind(sep, 0, limit) for sep in "-_ ")
    return (name[:cut] if cut > limit // 2 else name[: limit - 1]) + "…"
