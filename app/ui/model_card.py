"""The Discover tab's model card: a repo's facts, badges and README, fetched off the GUI
thread (app.catalog.model_card), the newest pick winning."""

from __future__ import annotations

import html
import threading
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import HearthError
from app.services.background import run_in_background
from app.services.model_cards import CARDS, Cancelled, CardCache, ModelCard
from app.services.types import HubClient
from app.ui.markdown import COPY_SCHEME, code_blocks, render_markdown
from app.ui.vision_badge import BADGE_COLOR

_TOOLS_COLOR = "#15803d"  # a green that reads on the light and the dark theme


def short_count(value: int) -> str:
    """1234567 → "1.2M", 2300 → "2.3K" (the Hub's way of writing counts)."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if value >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + suffix
    return str(value)


class CardBrowser(QTextBrowser):
    """A README view that loads nothing: remote images stay unfetched (their alt text
    shows), so opening a card never tells a third party that it was read."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.refused: list[QUrl] = []
        self.markdown = ""  # the README shown, for the code blocks' Copy links
        self.setOpenLinks(False)  # a click: Copy, or the browser for a web link
        self.anchorClicked.connect(self._clicked)

    def _clicked(self, url: QUrl) -> None:
        if url.scheme() == COPY_SCHEME:
            blocks = code_blocks(self.markdown)
            index = int(url.path()) if url.path().isdigit() else -1
            if 0 <= index < len(blocks):
                QGuiApplication.clipboard().setText(blocks[index])
        elif url.scheme() in ("http", "https"):
            QDesktopServices.openUrl(url)

    def loadResource(self, kind: int, name: QUrl | str) -> Any:
        self.refused.append(QUrl(name))
        return None


class ModelCardView(QWidget):
    """Title, badges, facts and the README of the repo picked in the Discover tab."""

    def __init__(
        self, hub: HubClient, cache: CardCache | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.hub = hub
        self.cache = cache or CARDS
        self.card: ModelCard | None = None
        self._cancel: threading.Event | None = None
        self.title = QLabel(self)
        self.title.setObjectName("cardTitle")
        self.vision_badge = self._badge(self.tr("Sees images"), BADGE_COLOR)
        self.vision_badge.setToolTip(
            self.tr("The repo has a vision projector: this model can look at images")
        )
        self.tools_badge = self._badge(self.tr("Tools"), _TOOLS_COLOR)
        self.tools_badge.setToolTip(self.tr("Its chat template takes tools (function calling)"))
        badges = QHBoxLayout()
        badges.setContentsMargins(0, 0, 0, 0)
        badges.addWidget(self.title, 1)
        badges.addWidget(self.vision_badge)
        badges.addWidget(self.tools_badge)
        self.facts: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(2)
        for key, label in (
            ("license", self.tr("Licence")),
            ("parameters", self.tr("Parameters")),
            ("context", self.tr("Context length")),
            ("languages", self.tr("Languages")),
            ("downloads", self.tr("Downloads")),
            ("updated", self.tr("Last update")),
        ):
            value = QLabel("-", self)
            value.setObjectName(f"card_{key}")
            value.setWordWrap(True)
            value.setAccessibleName(label)
            self.facts[key] = value
            form.addRow(label, value)
        self.status = QLabel(self)
        self.status.setObjectName("planLabel")
        self.status.setWordWrap(True)
        self.browser = CardBrowser(self)
        self.browser.setAccessibleName(self.tr("Model card"))
        self.browser.setToolTip(self.tr("The repository's model card (README.md)"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(badges)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.browser, 1)
        self.clear()

    def _badge(self, text: str, color: str) -> QLabel:
        badge = QLabel(text, self)
        badge.setAccessibleName(text)
        badge.setStyleSheet(
            f"color: white; background: {color}; border-radius: 8px; padding: 1px 8px;"
        )
        badge.setVisible(False)
        return badge

    def clear(self) -> None:
        self.title.setText(self.tr("Pick a repository to see its model card."))
        self.vision_badge.hide()
        self.tools_badge.hide()
        for value in self.facts.values():
            value.setText("-")
        self.status.clear()
        self.browser.clear()

    # -- fetching ---------------------------------------------------------------------------

    def show_repo(self, repo_id: str) -> None:
        """Fetch ``repo_id``'s card on a worker thread; a card still on its way for another
        repo is cancelled and its answer dropped."""
        self.cancel()
        cancel = threading.Event()
        self._cancel = cancel
        self.title.setText(repo_id)
        cached = self.cache.cached(self.hub, repo_id)
        if cached is not None:
            self.show_card(cached)
            return
        self.status.setText(self.tr("Loading the model card…"))

        def done(card: ModelCard) -> None:
            if not cancel.is_set():
                self._cancel = None
                self.show_card(card)

        def failed(error: HearthError) -> None:
            if not cancel.is_set() and not isinstance(error, Cancelled):
                self._cancel = None
                self.status.setText(str(error))

        run_in_background(lambda: self.cache.fetch(self.hub, repo_id, cancel), done, failed)

    def cancel(self) -> None:
        """Drop the card being fetched, if any."""
        if self._cancel is not None:
            self._cancel.set()
            self._cancel = None

    @property
    def loading(self) -> bool:
        return self._cancel is not None

    # -- showing ----------------------------------------------------------------------------

    def show_card(self, card: ModelCard) -> None:
        self.card = card
        self.title.setText(f"<b>{html.escape(card.repo_id)}</b>")
        self.vision_badge.setVisible(card.vision)
        self.tools_badge.setVisible(card.tools)
        unknown = self.tr("unknown")
        facts = self.facts
        facts["license"].setText(card.license or unknown)
        facts["parameters"].setText(short_count(card.parameters) if card.parameters else unknown)
        facts["context"].setText(
            self.tr("%s tokens") % f"{card.context_length:,}" if card.context_length else unknown
        )
        facts["languages"].setText(", ".join(card.languages) or unknown)
        facts["downloads"].setText(
            self.tr("%s (%s likes)") % (f"{card.downloads:,}", f"{card.likes:,}")
        )
        facts["updated"].setText(
            card.last_modified.date().isoformat() if card.last_modified else unknown
        )
        for value in facts.values():
            value.setToolTip(value.text())
        self.status.clear()
        self.browser.markdown = card.body or ""
        self.browser.setHtml(self.card_html(card))

    def card_html(self, card: ModelCard) -> str:
        """The front matter as a table (escaped), then the README through the chat's
        Markdown renderer (raw HTML in it is shown as text, never rendered)."""
        if card.body is None:
            return f"<p><i>{html.escape(self.tr('This repository has no model card.'))}</i></p>"
        rows = "".join(
            f'<tr><td style="color:{self._muted()}; padding-right:10px;">{html.escape(k)}</td>'
            f"<td>{html.escape(v)}</td></tr>"
            for k, v in card.fields
        )
        table = f'<table cellspacing="0" cellpadding="2">{rows}</table><hr/>' if rows else ""
        return table + render_markdown(card.body, dark=self._dark())

    def _dark(self) -> bool:
        return self.palette().color(QPalette.ColorRole.Window).lightness() < 128

    def _muted(self) -> str:
        return "#9ca3af" if self._dark() else "#6b7280"  # the theme's muted colours
