"""The vision badge: which models can look at images, drawn the same wherever a model is
listed (the picker, the model manager, Hub search results)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

from app.vision.projector import VISION_HUB_TAGS

if TYPE_CHECKING:
    from app.services.types import ModelEntry, RepoFiles, RepoSummary

VISION_TIP = "Sees images"
BADGE_COLOR = "#2563eb"  # a blue that reads on the light and the dark theme


def can_see(entry: ModelEntry) -> bool:
    """Whether a listed chat model has a usable projector."""
    return bool(getattr(entry, "vision", False)) and entry.error is None


def vision_models(entries: Iterable[ModelEntry]) -> list[ModelEntry]:
    """The installed models that can see images, in the order given."""
    return [entry for entry in entries if can_see(entry)]


def repo_sees(repo: RepoSummary | RepoFiles) -> bool:
    """Whether a Hub repo offers a vision model: a projector among its files, or (in
    search results, before its files are listed) a tag saying it takes images."""
    projectors = getattr(repo, "projectors", None)
    if projectors is not None:
        return bool(projectors)
    tags = {*getattr(repo, "tags", ()), getattr(repo, "pipeline_tag", None) or ""}
    return bool(tags & VISION_HUB_TAGS)


@cache
def vision_icon(size: int = 16) -> QIcon:
    """An eye, drawn (no font or file needed), at ``size`` pixels and twice that."""
    icon = QIcon()
    for scale in (1, 2):
        side = size * scale
        pixmap = QPixmap(side, side)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = QColor(BADGE_COLOR)
        pen = QPen(color, max(1.2, side / 11))
        painter.setPen(pen)
        # The eye's outline: two arcs meeting at the corners.
        top, bottom, left, right = side * 0.22, side * 0.78, side * 0.06, side * 0.94
        middle = side / 2
        outline = QPainterPath(QPointF(left, middle))
        outline.quadTo(QPointF(middle, top - side * 0.2), QPointF(right, middle))
        outline.quadTo(QPointF(middle, bottom + side * 0.2), QPointF(left, middle))
        painter.drawPath(outline)
        painter.setBrush(color)
        radius = side * 0.16
        painter.drawEllipse(QRectF(middle - radius, middle - radius, radius * 2, radius * 2))
        painter.end()
        icon.addPixmap(pixmap)
    return icon
