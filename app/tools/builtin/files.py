"""``read_file``: read a text file, only from the folders the user allowed.

The rules, each a refusal the model is told about: no allowed folder, no ``..`` in the
path, the path resolved (every symlink followed) must lie inside an allowed folder
(a symlink leading out is refused), only a regular file (no folder, device, FIFO or
socket: opening a FIFO could block), no file over ``MAX_FILE_BYTES``, text only (UTF-8,
no NUL bytes). The file is opened without following a last symlink and without
blocking, then checked again by its open handle, so swapping it between the check and
the read changes nothing.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePath
from typing import Any

from app.core.errors import ToolError
from app.core.i18n import translate
from app.tools.tool import Tool, ToolContext

NAME = "read_file"
MAX_FILE_BYTES = 1 << 20  # 1 MiB: more is not a file to paste into a context window
DEFAULT_MAX_CHARS = 8000
MAX_CHARS = 16000


def resolve_inside(raw: str, folders: tuple[Path, ...]) -> Path:
    """The real path of ``raw``, which must lie in one of ``folders`` (resolved ones).

    A relative path is looked up in each folder in turn. ToolError says why not.
    """
    if not folders:
        raise ToolError(
            translate(
                "Tools",
                "no folder is allowed for reading files; the user can add one in "
                "Preferences › Tools.",
            )
        )
    text = raw.strip()
    if not text or "\x00" in text:
        raise ToolError(translate("Tools", "the path is empty or holds a NUL character."))
    given = PurePath(os.path.expanduser(text))
    if ".." in given.parts:
        raise ToolError(
            translate("Tools", "the path holds '..'; give the path inside an allowed folder.")
        )
    candidates = [Path(given)] if given.is_absolute() else [f / given for f in folders]
    missing = True
    for candidate in candidates:
        try:
            real = candidate.resolve(strict=True)
        except FileNotFoundError:
            continue
        except (OSError, RuntimeError) as exc:  # a symlink loop, no permission
            raise ToolError(
                translate("Tools", "{text} cannot be opened ({exc}).").format(text=text, exc=exc)
            ) from None
        missing = False
        if any(real == f or real.is_relative_to(f) for f in folders):
            return real
    if missing:
        raise ToolError(
            translate("Tools", "there is no file {text} in the allowed folders.").format(text=text)
        )
    allowed = ", ".join(str(f) for f in folders)
    raise ToolError(
        translate(
            "Tools",
            "{text} is outside the allowed folders ({allowed}); a symlink leading out is "
            "refused too.",
        ).format(text=text, allowed=allowed)
    )


def read_text(path: Path, max_chars: int) -> str:
    """The file's text, at most ``max_chars`` characters (a note says what was cut)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_BINARY", 0)
    before = os.stat(path, follow_symlinks=False)
    if not stat.S_ISREG(before.st_mode):
        if stat.S_ISDIR(before.st_mode):
            problem = translate("Tools", "{path} is a folder; only files can be read.")
        else:
            problem = translate("Tools", "{path} is not a regular file; only files can be read.")
        raise ToolError(problem.format(path=path))
    if before.st_size > MAX_FILE_BYTES:
        raise ToolError(
            translate(
                "Tools", "{path} holds {st_size} bytes, over the {max_file_bytes} a tool may read."
            ).format(
                path=path,
                st_size=format(before.st_size, ","),
                max_file_bytes=format(MAX_FILE_BYTES, ","),
            )
        )
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ToolError(
            translate("Tools", "{path} cannot be opened ({value}).").format(
                path=path, value=exc.strerror or exc
            )
        ) from None
    with os.fdopen(fd, "rb") as file:
        opened = os.fstat(file.fileno())
        if not stat.S_ISREG(opened.st_mode) or (opened.st_ino, opened.st_dev) != (
            before.st_ino,
            before.st_dev,
        ):
            raise ToolError(
                translate("Tools", "{path} changed while it was opened; try again.").format(
                    path=path
                )
            )
        data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ToolError(
            translate("Tools", "{path} is over the {max_file_bytes} bytes a tool may read.").format(
                path=path, max_file_bytes=format(MAX_FILE_BYTES, ",")
            )
        )
    if b"\x00" in data:
        raise ToolError(
            translate("Tools", "{path} is not a text file (it holds binary data).").format(
                path=path
            )
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ToolError(
            translate("Tools", "{path} is not a text file (it is not UTF-8).").format(path=path)
        ) from None
    if len(text) > max_chars:
        return text[:max_chars] + f"\n[… {len(text) - max_chars} more characters not read]"
    return text


def read_file(arguments: dict[str, Any], context: ToolContext) -> str:
    path = resolve_inside(str(arguments["path"]), context.folders)
    max_chars = int(arguments.get("max_chars", DEFAULT_MAX_CHARS))
    return read_text(path, max(1, min(MAX_CHARS, max_chars)))


def read_file_tool() -> Tool:
    return Tool(
        name=NAME,
        title="Read a file",
        description=(
            "Read a text file from the folders the user allowed. The path is absolute or "
            "relative to an allowed folder."
        ),
        parameters={
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "The file's path.", "maxLength": 400},
                "max_chars": {
                    "type": "integer",
                    "description": f"Read at most this many characters (up to {MAX_CHARS}).",
                },
            },
            "required": ["path"],
            "additionalProperties": False,
        },
        handler=read_file,
        default_permission="ask",  # it reads the user's files
        timeout_s=10.0,
    )
