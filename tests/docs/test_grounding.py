"""Passages into the prompt: numbered, labelled with file, page and heading, within a
budget; or a plain statement that nothing relevant was found."""

from __future__ import annotations

from app.docs.grounding import ground, grounded_content, source_label
from app.docs.search import Passage


def passage(
    text: str,
    *,
    path: str = "/docs/lease.pdf",
    page: int | None = 2,
    heading: str = "Pets",
    similarity: float = 0.6,
    share: float = 0.0,
) -> Passage:
    return Passage(path, page, heading, text, 0.03, similarity, share, 1)


def test_relevant_passages_are_numbered_in_order_with_their_sources() -> None:
    first = passage("One cat or one small dog is allowed.")
    second = passage("Rent is due on the first.", path="/docs/notes.md", page=None, heading="")
    grounded = ground("Can I keep a dog?", [first, second], ["Lease"])
    assert grounded.found
    assert "[1] lease.pdf, page 2 — Pets\nOne cat or one small dog is allowed." in grounded.content
    assert "[2] notes.md\nRent is due on the first." in grounded.content
    assert grounded.content.endswith("Question: Can I keep a dog?")
    assert grounded.sources() == [
        {
            "n": 1,
            "path": "/docs/lease.pdf",
            "page": 2,
            "heading": "Pets",
            "text": "One cat or one small dog is allowed.",
            "collection": "",
        },
        {
            "n": 2,
            "path": "/docs/notes.md",
            "page": None,
            "heading": "",
            "text": "Rent is due on the first.",
            "collection": "",
        },
    ]


def test_irrelevant_passages_are_left_out_and_the_model_is_told() -> None:
    weak = passage("Bicycles go in the basement.", similarity=0.05, share=0.0)
    grounded = ground("Who won the 1998 world cup?", [weak], ["Lease"])
    assert not grounded.found and grounded.sources() == []
    assert "nothing in them is relevant" in grounded.content
    assert "Bicycles" not in grounded.content
    assert "cite no document" in grounded.content


def test_keywords_alone_make_a_passage_relevant() -> None:
    chinese = passage("房东允许租客养一只猫", similarity=0.1, share=0.75)
    assert ground("可以养猫吗", [chinese], ["zh"]).found


def test_passages_stop_at_the_budget_but_the_best_always_goes_in() -> None:
    long = passage("x" * 500)
    grounded = ground("q", [long, long, long], ["c"], max_chars=1100)
    assert len(grounded.passages) == 2
    alone = ground("q", [passage("y" * 5000)], ["c"], max_chars=1000)
    assert len(alone.passages) == 1 and "y" * 1001 not in alone.content


def test_source_labels() -> None:
    assert source_label(passage("t", page=None, heading="")) == "lease.pdf"
    assert source_label(passage("t", heading="")) == "lease.pdf, page 2"


def test_the_message_is_made_again_from_the_stored_sources() -> None:
    """An answer keeps its sources; the history rebuilds the question the model read."""
    first = passage("One cat or one small dog is allowed.")
    second = passage("Rent is due on the first.", path="/docs/notes.md", page=None, heading="")
    grounded = ground("Can I keep a dog?", [first, second], ["Lease", "notes"])
    again = grounded_content("Can I keep a dog?", grounded.sources(), ["Lease", "notes"])
    assert again == grounded.content
    nothing = ground("Who won?", [], ["Lease"])
    assert grounded_content("Who won?", [], ["Lease"]) == nothing.content
