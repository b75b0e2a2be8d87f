"""``--draft none|lookup|MODEL`` on hearth chat, voice and serve, and how the load
options resolve a draft model (a path or a library name)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.catalog.library import Library
from app.cli.parser import build_parser
from app.composition.options import draft_model
from app.core.errors import ModelNotFoundError
from tests.fixtures.draft_gguf import write_starter_draft


@pytest.mark.parametrize("command", ["chat", "voice", "serve"])
@pytest.mark.parametrize(
    ("value", "parsed"),
    [("none", "none"), ("off", "none"), ("Lookup", "lookup"), (" d.gguf ", "d.gguf")],
)
def test_every_front_end_takes_draft(command: str, value: str, parsed: str) -> None:
    assert build_parser().parse_args([command, "--draft", value]).draft == parsed


def test_a_draft_path_or_name_resolves(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    draft = write_starter_draft(folder / "tiny-starter-draft.gguf", 1)
    library = Library(tmp_path / "library.json", [folder])
    assert draft_model(None, library) is None
    assert draft_model("lookup", library) == "lookup"
    assert draft_model("tiny-starter-draft", library) == str(draft.resolve())
    assert draft_model(str(draft), None) == str(draft.resolve())
    missing = tmp_path / "gone.gguf"
    with pytest.raises(ModelNotFoundError, match=f"No draft model at {missing}"):
        draft_model(str(missing), None)
    with pytest.raises(ModelNotFoundError):
        draft_model("no-such-draft", library)
