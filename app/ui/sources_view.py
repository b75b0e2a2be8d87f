"""The numbered references under an answer grounded in documents, and the passage
behind each: its file, page and heading, the text the model was given, and "Open file".

A reference is ``{"n", "path", "page", "heading", "text", "collection"}`` as stored with
the answer. No references but a search made (an empty list) shows that nothing relevant
was found, so an answer from general knowledge is never taken for one from the files.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QProcess, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

# PDF viewers that open a file at a page, and how (the first one installed is used).
PAGE_VIEWERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("evince", ("--page-index={page}", "{path}")),
    ("okular", ("-p", "{page}", "{path}")),
    ("zathura", ("-P", "{page}", "{path}")),
    ("atril", ("--page-index={page}", "{path}")),
    ("xreader", ("--page-index={page}", "{path}")),
)


SOURCE_SCHEME = "source"  # a citation in an answer: source:N opens reference N
_PRE = re.compile(r"(<pre\b.*?</pre>)", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"(<[^>]*>)")
_CITATION = re.compile(r"\[(\d{1,3})\]")


def link_citations(html: str, numbers: Sequence[int], color: str) -> str:
    """``html`` with each ``[n]`` of a known reference ``n`` made a ``source:n`` link
    (not inside code, not inside tags)."""
    known = set(numbers)

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in known:
            return match.group(0)
        return (
            f'<a href="{SOURCE_SCHEME}:{n}" style="color:{color}; text-decoration:none;">[{n}]</a>'
        )

    parts = _PRE.split(html)
    for i in range(0, len(parts), 2):  # the odd parts are code: left alone
        pieces = _TAG.split(parts[i])
        pieces[::2] = [_CITATION.sub(link, text) for text in pieces[::2]]
        parts[i] = "".join(pieces)
    return "".join(parts)


def source_label(source: Mapping[str, Any]) -> str:
    """``lease.pdf, page 3 — Pets``."""
    text = Path(str(source.get("path", ""))).name or "?"
    if source.get("page") is not None:
        text += f", page {source['page']}"
    if source.get("heading"):
        text += f" — {source['heading']}"
    return text


def open_source(path: str, page: int | None) -> bool:
    """Open the file, at ``page`` when it is a PDF and a viewer that can do so is
    installed (else the desktop's own viewer, at its first page); False if it failed."""
    if page is not None and path.lower().endswith(".pdf"):
        for program, pattern in PAGE_VIEWERS:
            found = shutil.which(program)
            if found is None:
                continue
            args = [a.format(page=page, path=path) for a in pattern]
            started, _pid = QProcess.startDetached(found, args, str(Path(path).parent))
            if started:
                return True
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


class PassageDialog(QDialog):
    """One reference: where it is, the passage, and a button to open the file."""

    def __init__(self, source: Mapping[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = dict(source)
        self.path = str(source.get("path", ""))
        self.setWindowTitle(f"[{source.get('n', '?')}] {source_label(source)}")
        self.setObjectName("passageDialog")
        self.resize(560, 320)
        where = QLabel(self)
        where.setObjectName("passageWhere")
        where.setWordWrap(True)
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        collection = str(source.get("collection") or "")
        where.setText(
            f"<b>{_escape(source_label(source))}</b><br>{_escape(self.path)}"
            + (f"<br>{_escape(self.tr('Collection:'))} {_escape(collection)}" if collection else "")
        )
        self.passage = QPlainTextEdit(self)
        self.passage.setObjectName("passageText")
        self.passage.setReadOnly(True)
        self.passage.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.passage.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.passage.setPlainText(str(source.get("text", "")))
        self.status = QLabel(self)
        self.status.setObjectName("passageStatus")
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        self.open_button = QPushButton(self.tr("Open file"), self)
        self.open_button.setObjectName("openSourceButton")
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button.clicked.connect(self.open_file)
        if not os.path.exists(self.path):
            self.open_button.setEnabled(False)
            self.status.setText(
                self.tr("The file is no longer there; the passage is as it was when indexed.")
            )
        layout = QVBoxLayout(self)
        layout.addWidget(where)
        layout.addWidget(self.passage, 1)
        layout.addWidget(self.status)
        layout.addWidget(buttons)

    def open_file(self) -> bool:
        page = self.source.get("page")
        opened = open_source(self.path, page if isinstance(page, int) else None)
        if not opened:
            self.status.setText(
                self.tr("No program on this computer opened %s; open it from your file manager.")
                % Path(self.path).name
            )
        return opened


class SourcesView(QWidget):
    """Under an answer: "Searching your documents…", the numbered references, or that
    nothing relevant was found; hidden for an answer not grounded in documents."""

    opened = Signal(int)  # the number of the reference whose passage was shown

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sourcesView")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)  # its top rule
        self.sources: list[dict[str, Any]] | None = None
        self.dialog: PassageDialog | None = None
        self.buttons: list[QToolButton] = []
        self._state = "hidden"
        self.title = QLabel(self)
        self.title.setObjectName("sourcesTitle")
        self.title.setWordWrap(True)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 2, 0, 2)
        self._layout.setSpacing(0)
        self._layout.addWidget(self.title)
        self.setVisible(False)

    @property
    def state(self) -> str:
        """One of hidden, searching, nothing (found) or found."""
        return self._state

    def set_searching(self) -> None:
        self._clear()
        self.sources = None
        self._state = "searching"
        self.title.setText(self.tr("Searching your documents…"))
        self.setVisible(True)

    def set_sources(self, sources: Sequence[Mapping[str, Any]] | None) -> None:
        """The references of the answer (None hides the view)."""
        self._clear()
        if sources is None:
            self.sources = None
            self._state = "hidden"
            self.setVisible(False)
            return
        self.sources = [dict(s) for s in sources]
        self._state = "found" if self.sources else "nothing"
        if not self.sources:
            self.title.setText(
                self.tr("Nothing relevant was found in your documents for this question.")
            )
            self.setVisible(True)
            return
        self.title.setText(self.tr("Sources"))
        for index, source in enumerate(self.sources, start=1):
            n = int(source.get("n") or index)
            button = QToolButton(self)
            button.setObjectName("sourceLink")
            button.setAutoRaise(True)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.setText(f"[{n}]  {source_label(source)}")
            button.setToolTip(_preview(str(source.get("text", ""))))
            button.clicked.connect(lambda _=False, s=source: self.show_passage(s))
            self._layout.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
            self.buttons.append(button)
        self.setVisible(True)

    def numbers(self) -> list[int]:
        """The numbers of the references shown."""
        return [int(s.get("n") or i) for i, s in enumerate(self.sources or [], start=1)]

    def show_number(self, n: int) -> PassageDialog | None:
        """The passage of reference ``n`` (a citation clicked in the answer)."""
        for i, source in enumerate(self.sources or [], start=1):
            if int(source.get("n") or i) == n:
                return self.show_passage(source)
        return None

    def show_passage(self, source: Mapping[str, Any]) -> PassageDialog:
        """The passage behind a reference, in a dialog with "Open file"."""
        if self.dialog is not None:
            self.dialog.close()
        self.dialog = PassageDialog(source, self.window())
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.dialog.show()
        self.opened.emit(int(source.get("n") or 0))
        return self.dialog

    def _clear(self) -> None:
        for button in self.buttons:
            button.setParent(None)
            button.deleteLater()
        self.buttons.clear()


def _preview(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
