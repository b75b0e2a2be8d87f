"""The conversation list's groups, with a fixed "now" (local time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.services.conversation_groups import (
    OLDER,
    PINNED,
    TODAY,
    WEEK,
    YESTERDAY,
    day_group,
    group_conversations,
    short_model_name,
)

NOW = datetime(2026, 11, 30, 0, 10)  # ten past midnight: "yesterday" began 24h10 ago


@dataclass(frozen=True)
class Row:
    name: str
    updated_at: float
    pinned: bool = False


def at(when: datetime, name: str = "", pinned: bool = False) -> Row:
    return Row(name or when.isoformat(), when.timestamp(), pinned)


def test_days_are_calendar_days_not_24_hour_spans() -> None:
    today = NOW.date()
    assert day_group((NOW - timedelta(minutes=5)).timestamp(), today) == TODAY
    assert day_group(datetime(2026, 11, 29, 23, 50).timestamp(), today) == YESTERDAY
    assert day_group(datetime(2026, 11, 29, 0, 0).timestamp(), today) == YESTERDAY
    assert day_group(datetime(2026, 11, 28, 23, 59).timestamp(), today) == WEEK
    # Yesterday plus the 7 days before it; the 9th day back is older.
    assert day_group(datetime(2026, 11, 22, 0, 0).timestamp(), today) == WEEK
    assert day_group(datetime(2026, 11, 21, 23, 59).timestamp(), today) == OLDER
    assert day_group(datetime(2025, 1, 1).timestamp(), today) == OLDER
    # A clock set back leaves a conversation "in the future": it is today's.
    assert day_group((NOW + timedelta(days=3)).timestamp(), today) == TODAY


def test_groups_come_in_order_pinned_first_newest_first_empty_left_out() -> None:
    rows = [
        at(datetime(2026, 11, 1), "old"),
        at(datetime(2026, 11, 29, 9), "yesterday morning"),
        at(datetime(2026, 11, 29, 22), "yesterday night"),
        at(datetime(2026, 11, 2), "old pinned", pinned=True),
        at(datetime(2026, 11, 30, 0, 5), "just now"),
        at(datetime(2026, 11, 30, 0, 1), "pinned today", pinned=True),
    ]
    groups = group_conversations(rows, NOW)
    assert [g.key for g in groups] == [PINNED, TODAY, YESTERDAY, OLDER]  # no WEEK rows
    names = {g.key: [r.name for r in g.items] for g in groups}
    assert names[PINNED] == ["pinned today", "old pinned"]
    assert names[TODAY] == ["just now"]
    assert names[YESTERDAY] == ["yesterday night", "yesterday morning"]
    assert names[OLDER] == ["old"]
    assert sum(len(g.items) for g in groups) == len(rows)


def test_no_conversations_no_groups() -> None:
    assert group_conversations([], NOW) == []


def test_short_model_names() -> None:
    assert short_model_name(None) == ""
    assert short_model_name("SmolLM2-135M-Instruct") == "SmolLM2-135M-Instruct"
    assert short_model_name("/m/qwen2.5-0.5b-instruct-q4_k_m.gguf") == "qwen2.5-0.5b-instruct"
    assert short_model_name("C:\\models\\Llama-3.2-1B-Instruct-Q8_0.gguf") == (
        "Llama-3.2-1B-Instruct"
    )
    assert short_model_name("gemma-3-270m-it-IQ4_XS-imat.gguf") == "gemma-3-270m-it"
    long = short_model_name("Mistral-Small-3.1-24B-Instruct-2503-GGUF")
    assert long.endswith("…") and len(long) <= 24
    assert long == "Mistral-Small-3.1-24B…"
