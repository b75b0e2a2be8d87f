"""Preferences: the application settings as the window edits them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.core.paths import AppPaths
from app.core.settings import Settings, save_settings


class Preferences(QObject):
    changed = Signal(object)  # Settings

    def __init__(
        self,
        paths: AppPaths,
        settings: Settings,
        apply_theme: Callable[[str], object] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.paths = paths
        self.settings = settings
        self._apply_theme = apply_theme

    def models_dir(self) -> Path:
        return self.settings.models_path(self.paths)

    def save(self, settings: Settings) -> None:
        self.settings = settings
        save_settings(self.paths, settings)
        if self._apply_theme is not None:
            self._apply_theme(str(settings.extra.get("theme") or "system"))
        self.changed.emit(settings)
