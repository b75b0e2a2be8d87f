"""Benchmark opening a damaged history: repair, salvage, and export/import, on one file.

Run: ``.venv/bin/python -m tests.bench.bench_storage [--conversations 1000] [--messages 20]``

Builds a history (N conversations of M messages of ~500 characters, like a long-used
Hearth), then times, each on a fresh copy of it:

- opening it sound (``PRAGMA quick_check``, the check done on every start);
- garbage over a leaf page of the search index: repaired in place, nothing lost;
- garbage over a leaf page of the messages: set aside, salvaged by rowid ranges;
- garbage over the messages' root page: set aside, salvaged by the page scan;
- ``hearth export --all`` (JSON) and ``hearth import`` into an empty history.
"""

from __future__ import annotations

import argparse
import logging
import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from app.storage import ConversationStore
from app.storage.export import export_all
from app.storage.importer import import_file
from tests.storage import pages
from tests.storage.history import sentence


def build(path: Path, conversations: int, messages: int) -> None:
    rng = random.Random(1)
    with ConversationStore(path) as store:
        for c in range(conversations):
            conversation = store.create_conversation(f"chat {c}")
            for m in range(messages):
                role = "user" if m % 2 == 0 else "assistant"
                store.add_message(conversation.id, role, sentence(rng, 70))  # type: ignore[arg-type]


def timed(label: str, action: Callable[[], str]) -> None:
    started = time.perf_counter()
    outcome = action()
    print(f"{label:<44} {time.perf_counter() - started:7.2f} s   {outcome}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=20)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # the repairs log what they find; the bench times them
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        pristine = root / "pristine" / "conversations.sqlite3"
        started = time.perf_counter()
        build(pristine, args.conversations, args.messages)
        with sqlite3.connect(pristine) as conn:
            n = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        size_mb = pristine.stat().st_size / 1e6
        print(
            f"history: {args.conversations} conversations, {n} messages, {size_mb:.1f} MB "
            f"(built in {time.perf_counter() - started:.1f} s)"
        )

        def copy(name: str) -> Path:
            path = root / name / pristine.name
            path.parent.mkdir()
            shutil.copyfile(pristine, path)
            return path

        def open_it(path: Path) -> str:
            store, notice = ConversationStore.open_resilient(path)
            with store:
                count = sum(len(store.get_messages(c.id)) for c in store.list_conversations())
            return f"{count} messages; {notice.kind if notice else 'no notice'}"

        timed("open, sound", lambda: open_it(copy("sound")))
        damaged = copy("index")
        pages.write_garbage(damaged, pages.tree(damaged, "messages_fts_data").leaves[0])
        timed("open, search index page damaged (repair)", lambda: open_it(damaged))
        damaged = copy("leaf")
        tree = pages.tree(damaged, "messages")
        pages.write_garbage(damaged, tree.leaves[len(tree.leaves) // 2])
        timed("open, messages leaf damaged (salvage)", lambda: open_it(damaged))
        damaged = copy("root")
        pages.write_garbage(damaged, pages.tree(damaged, "messages").root)
        timed("open, messages root damaged (page scan)", lambda: open_it(damaged))

        out = root / "export.json"

        def export() -> str:
            with ConversationStore(copy("export")) as store:
                result = export_all(store, "json", out)
            return f"{result.conversations} conversations, {out.stat().st_size / 1e6:.1f} MB"

        def restore() -> str:
            with ConversationStore(root / "empty" / pristine.name) as store:
                result = import_file(store, out)
            return f"{result.added} conversations, {result.messages} messages"

        timed("export --all (JSON)", export)
        timed("import into an empty history", restore)


if __name__ == "__main__":
    main()
