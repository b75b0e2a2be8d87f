"""``hearth FILE.gguf`` ("Open with Hearth" from the file manager): the file joins the
library where it is, then the window opens."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from app.catalog.library import Library
from app.cli import main as cli_main
from app.context import open_app_context


def test_model_files_are_split_from_options() -> None:
    split = cli_main.split_model_files
    assert split(["/m/a.gguf"]) == (["/m/a.gguf"], [])
    assert split(["-v", "A.GGUF", "b.gguf"]) == (["A.GGUF", "b.gguf"], ["-v"])
    assert split(["--no-model", "x.gguf"]) == (["x.gguf"], ["--no-model"])
    # A command keeps its arguments, even ones that end in .gguf.
    assert split(["chat", "-m", "x.gguf"]) == ([], ["chat", "-m", "x.gguf"])
    assert split(["plan", "x.gguf"]) == ([], ["plan", "x.gguf"])
    assert split([]) == ([], [])


def test_opening_a_gguf_imports_it_then_opens_the_window(
    smol_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = tmp_path / "downloads" / "my-model.gguf"  # a file the library has never seen
    model.parent.mkdir()
    shutil.copyfile(smol_model, model)
    opened: list[argparse.Namespace] = []

    def fake_window(args: argparse.Namespace) -> int:
        opened.append(args)
        return 0

    import app.cli.chat

    monkeypatch.setattr(app.cli.chat, "run_default", fake_window)
    assert cli_main.run(["--no-model", str(model)]) == 0
    assert len(opened) == 1 and opened[0].command is None and opened[0].no_model
    library: Library = open_app_context().library
    assert str(model) in {e.path for e in library.registered()}
    assert "added" in capsys.readouterr().err


def test_opening_a_bad_file_fails_with_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a model")
    assert cli_main.run([str(bad)]) == cli_main.EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("hearth: ") and err.count("\n") == 1
