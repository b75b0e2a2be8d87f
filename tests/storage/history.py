"""A realistic conversation history to damage, export and compare."""

from __future__ import annotations

import random
from dataclasses import asdict
from pathlib import Path
from typing import Any

from app.core.generation import GenerationParams, GenerationStats
from app.storage import ConversationStore

WORDS = [
    *("kettle", "lantern", "harbour", "meadow", "quartz", "violin", "thistle", "granite"),
    *("orchard", "compass", "saffron", "pebble", "juniper", "falcon", "walnut", "beacon"),
    *("cobalt", "ember", "willow", "tundra"),
]
STATS = GenerationStats(
    prompt_tokens=21,
    completion_tokens=55,
    ttft_s=0.125,
    tokens_per_s=38.5,
    total_s=1.5,
    n_gpu_layers=0,
    n_ctx=4096,
    backend="cpu",
)


def sentence(rng: random.Random, n_words: int) -> str:
    return " ".join(f"{rng.choice(WORDS)}{rng.randint(0, 99)}" for _ in range(n_words))


def tool_calls(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """The tool calls of one turn, as the tool loop stores them."""
    return [
        {
            "id": f"call_{n}_{k}",
            "name": "calculator",
            "arguments": {"expression": f"{rng.randint(1, 99)} * {k + 2}"},
            "result": sentence(rng, 3),
            "ok": k == 0,
            "elapsed_s": 0.125 * (k + 1),
            "status": "complete" if k == 0 else "error",
        }
        for k in range(1 + n % 2)
    ]


def build_history(
    path: Path, *, conversations: int = 12, messages: int = 24, seed: int = 3
) -> None:
    """Conversations with every kind of field set: pins, models, system prompts,
    settings, stats, params, reasoning, tool calls, stopped and failed replies, non-Latin
    text and code."""
    rng = random.Random(seed)
    with ConversationStore(path) as store:
        for c in range(conversations):
            conversation = store.create_conversation(
                f"Chat {c} about {rng.choice(WORDS)} 🔥",
                model="smollm2-135m" if c % 2 else None,
                system_prompt="Answer briefly." if c % 3 == 0 else None,
                settings={"preset": "Concise", "n_ctx": 2048 + c} if c % 4 == 0 else None,
            )
            if c % 5 == 1:
                store.set_pinned(conversation.id, True)
            for m in range(messages):
                text = sentence(rng, 50 + rng.randint(0, 40))
                if m % 7 == 3:
                    text += "\n\n```python\nprint('茶と本')\n```"
                if m % 2 == 0:
                    store.add_message(conversation.id, "user", text)
                else:
                    status = "stopped" if m % 11 == 5 else "error" if m % 13 == 7 else "complete"
                    store.add_message(
                        conversation.id,
                        "assistant",
                        text,
                        model="smollm2-135m",
                        status=status,  # type: ignore[arg-type]
                        stats=STATS,
                        params=GenerationParams(temperature=0.5, seed=c),
                        reasoning=sentence(rng, 12) if m % 3 == 1 else None,
                        tools=tool_calls(rng, m) if m % 4 == 1 else None,
                    )


def snapshot(store: ConversationStore) -> dict[int, dict[str, Any]]:
    """Every conversation with its messages, every field, by conversation id."""
    return {
        c.id: {**asdict(c), "messages": [asdict(m) for m in store.get_messages(c.id)]}
        for c in store.list_conversations()
    }


def messages_by_id(store: ConversationStore) -> dict[int, dict[str, Any]]:
    return {m["id"]: m for c in snapshot(store).values() for m in c["messages"]}
