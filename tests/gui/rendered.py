"""What a message body shows, to check the window displays a reply whatever its words."""

from __future__ import annotations

from PySide6.QtGui import QTextDocument

from app.ui.markdown import render_markdown


def rendered_text(markdown: str) -> str:
    """The plain text a message body holds for ``markdown`` (code blocks' Copy links
    included): equal to the body's text when the body shows exactly that reply."""
    document = QTextDocument()
    document.setHtml(render_markdown(markdown))
    return document.toPlainText()
