"""Images in conversations on real SQLite files: stored once per hash, listed in order per
message, deleted with the last message that lists them, migrated into an older database,
exported and imported byte for byte, and salvaged with their messages from a damaged file."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from app.core.errors import StorageError
from app.storage import LATEST_VERSION, ConversationStore
from app.storage import schema as schema_module
from app.storage.export import export_all, export_conversation, save_export
from app.storage.importer import import_file
from app.vision.images import PreparedImage, bytes_from_data_url, prepare_image
from tests.storage import pages


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "conversations.sqlite3"


def photo(seed: int, size: int = 64, name: str | None = None) -> PreparedImage:
    """A real prepared image (random pixels: a PNG of ~12 KB, larger than a page)."""
    pixels = random_bytes(seed, size * size * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (size, size), pixels).save(out, format="PNG")
    return prepare_image(out.getvalue(), name=name or f"photo-{seed}.png")


def random_bytes(seed: int, n: int) -> bytes:
    import random

    return random.Random(seed).randbytes(n)


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return [tuple(r) for r in conn.execute(sql)]


def stored_hashes(path: Path) -> set[str]:
    return {str(r[0]) for r in rows(path, "SELECT sha256 FROM images")}


# -- storing -----------------------------------------------------------------------------------


def test_a_message_keeps_its_images_in_order(db_path: Path) -> None:
    a, b, c = photo(1), photo(2), photo(3)
    with ConversationStore(db_path) as store:
        conversation = store.create_conversation()
        asked = store.add_message(conversation.id, "user", "What differs?", images=[c, a, b])
        answer = store.add_message(conversation.id, "assistant", "Colours.")
        messages = store.get_messages(conversation.id)
        assert [m.images for m in messages] == [(c.sha256, a.sha256, b.sha256), ()]
        assert store.get_message(asked).images == (c.sha256, a.sha256, b.sha256)
        assert store.get_message(answer).images == ()
        assert store.message_images(asked) == [c, a, b]  # bytes, size, type and name
        assert store.message_images(answer) == []
        assert store.image(a.sha256) == a
    with ConversationStore(db_path) as again:  # on disk, not only in memory
        assert again.get_message(asked).images == (c.sha256, a.sha256, b.sha256)
        assert again.image(b.sha256).data == b.data


def test_the_same_image_is_stored_once(db_path: Path) -> None:
    shared, other = photo(1), photo(2)
    with ConversationStore(db_path) as store:
        first, second = store.create_conversation(), store.create_conversation()
        store.add_message(first.id, "user", "this", images=[shared])
        store.add_message(first.id, "user", "this again", images=[shared, other, shared])
        store.add_message(second.id, "user", "and here", images=[shared])
        assert store.image_bytes_total() == len(shared.data) + len(other.data)
        assert store.get_messages(first.id)[1].images == (
            shared.sha256,
            other.sha256,
            shared.sha256,
        )
    assert rows(db_path, "SELECT count(*) FROM images") == [(2,)]
    assert rows(db_path, "SELECT count(*) FROM message_images") == [(5,)]


def test_deleting_a_conversation_deletes_only_images_nobody_else_holds(db_path: Path) -> None:
    shared, mine, theirs = photo(1), photo(2), photo(3)
    with ConversationStore(db_path) as store:
        first, second = store.create_conversation(), store.create_conversation()
        store.add_message(first.id, "user", "a", images=[shared, mine])
        store.add_message(second.id, "user", "b", images=[theirs, shared])
        assert store.delete_conversation(first.id)
        assert stored_hashes(db_path) == {shared.sha256, theirs.sha256}
        with pytest.raises(StorageError, match=r"^Image .* is not in the conversation database"):
            store.image(mine.sha256)
        assert store.message_images(store.get_messages(second.id)[0].id) == [theirs, shared]
        store.delete_conversation(second.id)
    assert stored_hashes(db_path) == set()


def test_edits_regenerates_and_replacements_release_their_images(db_path: Path) -> None:
    a, b, c = photo(1), photo(2), photo(3)
    with ConversationStore(db_path) as store:
        conversation = store.create_conversation()
        first = store.add_message(conversation.id, "user", "one", images=[a])
        store.add_message(conversation.id, "assistant", "ok")
        later = store.add_message(conversation.id, "user", "two", images=[b])
        store.add_message(conversation.id, "user", "three", images=[c])
        store.delete_messages_from(later)  # regenerate from "two": b and c go
        assert stored_hashes(db_path) == {a.sha256}
        store.edit_message(first, "one, edited")  # the edit keeps the message's images
        assert store.get_message(first).images == (a.sha256,)
        store.set_images(first, [c, b])
        assert store.get_message(first).images == (c.sha256, b.sha256)
        assert stored_hashes(db_path) == {b.sha256, c.sha256}
        store.set_images(first, [])
        assert stored_hashes(db_path) == set()
        with pytest.raises(StorageError, match="Message 999 does not exist"):
            store.set_images(999, [a])
        with pytest.raises(StorageError, match="Message 999 does not exist"):
            store.message_images(999)
    assert stored_hashes(db_path) == set()


def test_a_failed_write_stores_no_image(db_path: Path) -> None:
    with (
        ConversationStore(db_path) as store,
        pytest.raises(StorageError, match="Conversation 42 does not exist"),
    ):
        store.add_message(42, "user", "lost", images=[photo(1)])
    assert stored_hashes(db_path) == set()


# -- an older database ---------------------------------------------------------------------------


def version_5_file(path: Path) -> None:
    """A database as Hearth wrote it before images (schema version 5)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in schema_module.MIGRATIONS[:5]:
        for statement in migration:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 5")
    conn.execute(
        "INSERT INTO conversations (title, created_at, updated_at, uid) VALUES ('old', 1, 1, 'u')"
    )
    for n in range(3):
        conn.execute(
            "INSERT INTO messages (conversation_id, role, content, created_at) VALUES (1, ?, ?, ?)",
            ("user" if n % 2 == 0 else "assistant", f"old message {n}", n),
        )
    conn.close()


def test_a_version_5_file_is_migrated_and_takes_images(db_path: Path) -> None:
    assert LATEST_VERSION == 6
    version_5_file(db_path)
    assert rows(db_path, "SELECT name FROM sqlite_schema WHERE name = 'images'") == []
    with ConversationStore(db_path) as store:
        old = store.get_messages(1)
        assert [(m.content, m.images) for m in old] == [(f"old message {n}", ()) for n in range(3)]
        image = photo(7)
        new = store.add_message(1, "user", "and now a picture", images=[image])
        assert store.message_images(new) == [image]
        store.delete_messages_from(new)
    assert rows(db_path, "PRAGMA user_version") == [(LATEST_VERSION,)]
    assert stored_hashes(db_path) == set()


# -- export and import ---------------------------------------------------------------------------


def two_conversations(store: ConversationStore) -> tuple[PreparedImage, PreparedImage]:
    shared, own = photo(1, name="cat.png"), photo(2, name="[odd] name.png")
    first = store.create_conversation("Cats")
    store.add_message(first.id, "user", "Is this a cat?", images=[shared, own])
    store.add_message(first.id, "assistant", "Yes.")
    second = store.create_conversation("Again")
    store.add_message(second.id, "user", "Same picture", images=[shared])
    return shared, own


def comparable(store: ConversationStore) -> list[tuple[str, list[tuple[str, tuple[str, ...]]]]]:
    return [
        (c.uid, [(m.content, m.images) for m in store.get_messages(c.id)])
        for c in sorted(store.list_conversations(), key=lambda c: c.uid)
    ]


def test_json_export_and_import_keep_the_images_byte_for_byte(
    db_path: Path, tmp_path: Path
) -> None:
    with ConversationStore(db_path) as store:
        shared, own = two_conversations(store)
        before = comparable(store)
        out = export_all(store, "json", tmp_path / "all.json").path
    document = json.loads(out.read_text(encoding="utf-8"))
    first, second = document["conversations"]
    assert first["messages"][0]["images"] == [shared.sha256, own.sha256]
    assert "images" not in first["messages"][1]  # none: the key is left out
    carried = first["images"][own.sha256]
    assert (carried["mime"], carried["width"], carried["height"], carried["name"]) == (
        "image/png",
        64,
        64,
        "[odd] name.png",
    )
    assert base64.b64decode(carried["data"]) == own.data
    assert list(second["images"]) == [shared.sha256]  # each record carries what it lists

    with ConversationStore(tmp_path / "other" / "c.sqlite3") as other:
        result = import_file(other, out)
        assert (result.added, result.messages, result.images) == (2, 3, 2)
        assert comparable(other) == before
        assert other.image(shared.sha256) == shared
        assert other.image(own.sha256) == own
        again = import_file(other, out)  # the same file twice adds nothing
        assert (again.added, again.skipped, again.images) == (0, 2, 0)
    assert stored_hashes(tmp_path / "other" / "c.sqlite3") == {shared.sha256, own.sha256}


def test_one_conversation_saved_as_json_imports_with_its_images(
    db_path: Path, tmp_path: Path
) -> None:
    with ConversationStore(db_path) as store:
        shared, own = two_conversations(store)
        cats = next(c for c in store.list_conversations() if c.title == "Cats")
        path = tmp_path / "cats.json"
        assert save_export(store, cats.id, path) == "json"
    with ConversationStore(tmp_path / "other.sqlite3") as other:
        assert import_file(other, path).images == 2
        (restored,) = other.list_conversations()
        (question, _answer) = other.get_messages(restored.id)
        assert other.message_images(question.id) == [shared, own]


def test_an_import_whose_image_was_altered_adds_nothing(db_path: Path, tmp_path: Path) -> None:
    with ConversationStore(db_path) as store:
        shared, _ = two_conversations(store)
        out = export_all(store, "json", tmp_path / "all.json").path
    document = json.loads(out.read_text(encoding="utf-8"))
    record = document["conversations"][1]["images"][shared.sha256]
    record["data"] = base64.b64encode(shared.data[:-1] + b"\x00").decode()
    out.write_text(json.dumps(document), encoding="utf-8")
    with ConversationStore(tmp_path / "other.sqlite3") as other:
        with pytest.raises(StorageError, match=r"does not match its hash .*nothing was imported"):
            import_file(other, out)
        assert other.list_conversations() == []


def test_an_import_listing_an_image_it_does_not_carry_adds_nothing(
    db_path: Path, tmp_path: Path
) -> None:
    with ConversationStore(db_path) as store:
        shared, _ = two_conversations(store)
        out = export_all(store, "json", tmp_path / "all.json").path
    document = json.loads(out.read_text(encoding="utf-8"))
    del document["conversations"][1]["images"]  # the first one carries it as well
    del document["conversations"][0]["images"][shared.sha256]
    out.write_text(json.dumps(document), encoding="utf-8")
    with ConversationStore(tmp_path / "other.sqlite3") as other:
        with pytest.raises(StorageError, match="is missing; nothing was added"):
            import_file(other, out)
        assert other.list_conversations() == []
        assert stored_hashes(tmp_path / "other.sqlite3") == set()


def test_markdown_export_embeds_each_image_as_a_data_url(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        shared, own = two_conversations(store)
        cats = next(c for c in store.list_conversations() if c.title == "Cats")
        markdown = export_conversation(store, cats.id, "markdown")
    lines = markdown.splitlines()
    embedded = [line for line in lines if line.startswith("![")]
    assert len(embedded) == 2
    assert embedded[0].startswith("![cat.png (64 × 64)](data:image/png;base64,")
    assert embedded[1].startswith("![odd name.png (64 × 64)](data:")  # brackets taken out
    urls = [line.split("](", 1)[1].rstrip(" )") for line in embedded]
    assert [bytes_from_data_url(u) for u in urls] == [shared.data, own.data]
    # Images come before the question they go with.
    assert lines.index(embedded[1]) < lines.index("Is this a cat?")


# -- damage ------------------------------------------------------------------------------------


def image_history(path: Path, n: int = 40) -> dict[int, tuple[str, ...]]:
    """Conversations of a question with an image each (every 5th shares one), closed."""
    shared = photo(1000)
    with ConversationStore(path) as store:
        for k in range(n // 2):
            conversation = store.create_conversation(f"c{k}")
            for j in range(2):
                seed = 2 * k + j
                images = [shared] if seed % 5 == 0 else [photo(seed), photo(seed + 500)]
                store.add_message(conversation.id, "user", f"question {seed} " * 20, images=images)
        return {
            m.id: m.images for c in store.list_conversations() for m in store.get_messages(c.id)
        }


def flip_bytes_of(path: Path, image: bytes) -> None:
    """Change 16 bytes in the middle of an image's data where they lie in the file: its
    pages stay well formed, only the bytes no longer match the hash."""
    data = bytearray(path.read_bytes())
    middle = len(image) // 2
    probe = image[middle : middle + 32]
    at = data.find(probe)
    assert at > 0 and data.find(probe, at + 1) == -1
    data[at : at + 16] = bytes(b ^ 0xFF for b in data[at : at + 16])
    path.write_bytes(bytes(data))


def test_a_salvage_keeps_the_images_of_every_message_it_saves(db_path: Path) -> None:
    before = image_history(db_path)
    tree = pages.tree(db_path, "messages")
    page = tree.leaves[len(tree.leaves) // 2]
    lost = set(pages.leaf_rowids(db_path, page))
    assert lost and lost < set(before)
    # One image of a surviving message is damaged too: it alone is left behind.
    survivor = next(i for i in sorted(before) if i not in lost and len(before[i]) == 2)
    with ConversationStore(db_path, verify=False) as store:
        damaged_image = store.image(before[survivor][0])
    flip_bytes_of(db_path, damaged_image.data)
    pages.write_garbage(db_path, page)

    store, notice = ConversationStore.open_resilient(db_path)
    with store:
        assert notice is not None and notice.kind == "salvaged"
        after = {
            m.id: m.images for c in store.list_conversations() for m in store.get_messages(c.id)
        }
        assert set(after) == set(before) - lost
        for message_id, images in after.items():
            expected = tuple(h for h in before[message_id] if h != damaged_image.sha256)
            assert images == expected, message_id
            for image in store.message_images(message_id):
                assert hashlib.sha256(image.data).hexdigest() == image.sha256
        kept = {h for images in after.values() for h in images}
        assert stored_hashes(db_path) == kept  # nothing only the lost messages held
        # The salvaged database works as before: the release trigger came with the schema.
        gone, *rest = store.list_conversations()
        store.delete_conversation(gone.id)
        held = {h for c in rest for m in store.get_messages(c.id) for h in m.images}
        assert stored_hashes(db_path) == held < kept


def test_damage_in_the_images_table_costs_no_message(db_path: Path) -> None:
    before = image_history(db_path)
    tree = pages.tree(db_path, "images")
    pages.write_garbage(db_path, tree.leaves[0])

    store, notice = ConversationStore.open_resilient(db_path)
    with store:
        assert notice is not None and notice.kind == "salvaged"  # images are user data
        messages = [m for c in store.list_conversations() for m in store.get_messages(c.id)]
        assert {m.id for m in messages} == set(before)
        for message in messages:  # an image is either back whole or not listed at all
            assert set(message.images) <= set(before[message.id])
            for image in store.message_images(message.id):
                assert hashlib.sha256(image.data).hexdigest() == image.sha256
        assert len(stored_hashes(db_path)) < len({h for i in before.values() for h in i})


def test_images_are_private_to_the_file(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        conversation = store.create_conversation()
        store.add_message(conversation.id, "user", "x", images=[photo(1)])
    assert os.stat(db_path).st_mode & 0o077 == 0
