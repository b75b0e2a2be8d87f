"""Hub file names must be portable relative paths on Linux, macOS and Windows alike."""

from __future__ import annotations

from pathlib import Path, PureWindowsPath

import pytest

from app.catalog.downloads import dest_path
from app.catalog.portable import check_portable, is_portable, name_problem, shown
from app.core.errors import DownloadError, UnsafeNameError

# name -> a word the reason must contain (so each class of bad name has its own reason)
BAD_NAMES = {
    "..\\..\\x.gguf": "backslash",
    "models\\x.gguf": "backslash",
    "C:\\Users\\Public\\x.gguf": "drive",
    "C:x.gguf": "drive",
    "c:/x.gguf": "drive",
    "/etc/x.gguf": "absolute",
    "\\\\server\\share\\x.gguf": "absolute",
    "\\x.gguf": "absolute",
    "../x.gguf": "'..'",
    "a/../../x.gguf": "'..'",
    "..": "'..'",
    "./x.gguf": "'.'",
    "a//x.gguf": "empty",
    "a/": "empty",
    "": "empty",
    "CON": "device",
    "con.gguf": "device",
    "Q8_0/nul.tar.gz": "device",
    "AUX .gguf": "device",
    "prn": "device",
    "COM1.gguf": "device",
    "com9": "device",
    "conout$.gguf": "device",
    "LPT1.txt": "device",
    "lpt9.gguf": "device",
    "COM\u00b9.gguf": "device",
    "CON/x.gguf": "device",
    "x.gguf.": "dot or a space",
    "x.gguf ": "dot or a space",
    "dir./x.gguf": "dot or a space",
    "dir /x.gguf": "dot or a space",
    "x\x00.gguf": "control",
    "x\n.gguf": "control",
    "x\x1f.gguf": "control",
    "x\x7f.gguf": "control",
    "x<1>.gguf": "'<'",
    "x>.gguf": "'>'",
    "ab:c.gguf": "':'",
    "a:b.gguf": "drive",
    "x.gguf:stream": "':'",
    'x".gguf': "'\"'",
    "x|y.gguf": "'|'",
    "x?.gguf": "'?'",
    "x*.gguf": "'*'",
    "a" * 256 + ".gguf": "255 bytes",
}

GOOD_NAMES = [
    "model-Q4_K_M.gguf",
    "Q8_0/model-Q8_0-00001-of-00002.gguf",
    "zh/zh_CN/huayan/medium/zh_CN-huayan-medium.onnx",
    ".gitattributes",
    "README.md",
    "CONSOLE.gguf",  # only the exact device names are reserved
    "com10.gguf",
    "COM0.gguf",
    "LPT.gguf",
    "nul-model.gguf",
    "x..gguf",
    "模型-Q4_0.gguf",
    "a" * 255,
]


@pytest.mark.parametrize(("name", "reason"), sorted(BAD_NAMES.items()))
def test_each_kind_of_unsafe_name_is_refused_with_its_reason(name: str, reason: str) -> None:
    problem = name_problem(name)
    assert problem is not None and reason in problem
    assert not is_portable(name)
    with pytest.raises(UnsafeNameError) as caught:
        check_portable(name)
    message = str(caught.value)
    assert isinstance(caught.value, DownloadError)
    assert shown(name) in message and problem in message
    assert name in message or not name.isprintable()  # backslashes not doubled
    assert message.endswith(".") and message.count(". ") == 0  # one sentence


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_portable_names_are_accepted_and_stay_inside_on_windows_too(name: str) -> None:
    assert name_problem(name) is None
    check_portable(name)
    as_windows = PureWindowsPath(name)
    assert not as_windows.drive and not as_windows.root
    assert ".." not in as_windows.parts
    assert len(as_windows.parts) == len(name.split("/"))  # no hidden separator


@pytest.mark.parametrize(
    "name", ["..\\..\\x.gguf", "C:\\Users\\Public\\x.gguf", "C:x.gguf", "CON.gguf", "../x.gguf"]
)
def test_dest_path_refuses_windows_paths_before_touching_the_disk(
    tmp_path: Path, name: str
) -> None:
    models = tmp_path / "models"
    with pytest.raises(UnsafeNameError, match="did not download it"):
        dest_path(models, name)
    assert not models.exists()


def test_dest_path_keeps_the_repo_folders(tmp_path: Path) -> None:
    assert dest_path(tmp_path, "Q8_0/m-00001-of-00002.gguf") == (
        tmp_path / "Q8_0" / "m-00001-of-00002.gguf"
    )
