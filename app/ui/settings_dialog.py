"""Application settings: models folder, threads, default model, theme and language; with
the window's services, tabs for the API server, MCP servers, tools and documents."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.settings import Settings
from app.services.types import ModelEntry

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from app.docs.embedding_models import EmbeddingChoice
    from app.services.server_service import ServerService
    from app.services.tool_service import Tool
    from app.tools.mcp.manager import McpManager
    from app.ui.documents_settings import DocumentsSettingsPanel
    from app.ui.mcp_settings import McpSettingsPanel
    from app.ui.tools_settings import ToolsSettingsPanel


def _mcp_config_file() -> Path:
    from app.core.paths import app_paths
    from app.tools.mcp.config import config_file

    return config_file(app_paths())


THEMES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))
LANGUAGES = (("", "Follow the system"), ("en", "English"), ("zh_CN", "简体中文"))
# The KV cache's types (engine.kv_cache): a quantised one holds a longer context.
KV_TYPES = (
    ("f16", "f16 (exact)"),
    ("q8_0", "q8_0 (47 % less memory)"),
    ("q4_0", "q4_0 (72 % less memory)"),
)
# Flash attention (engine.kv_cache): auto turns it on for a quantised cache, which needs it.
FLASH_MODES = (
    ("auto", "Automatic (on for a quantised cache)"),
    ("on", "On"),
    ("off", "Off"),
)


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: Settings,
        models_dir: str,
        chat_models: list[ModelEntry],
        parent: QWidget | None = None,
        *,
        server: ServerService | None = None,
        mcp_config: Path | None = None,
        mcp_manager: McpManager | None = None,
        tools: list[Tool] | None = None,
        embedding_models: Sequence[EmbeddingChoice] | None = None,
        stale_collections: int = 0,
        kv_clear: Callable[[], None] | None = None,
    ) -> None:
        """``embedding_models``: the installed ones, for the Documents tab (shown with the
        other tabs); ``stale_collections``: how many wait for a re-index now;
        ``kv_clear``: deletes every saved conversation state (the engine's, so its RAM
        too; default: the files)."""
        super().__init__(parent)
        self.setWindowTitle(self.tr("Settings"))
        self.setMinimumWidth(520)
        self.settings = settings
        self.models_dir = QLineEdit(models_dir, self)
        browse = QPushButton(self.tr("Choose…"), self)
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.models_dir, 1)
        folder_row.addWidget(browse)
        self.threads = QSpinBox(self)
        self.threads.setRange(0, max(1, os.cpu_count() or 1) * 2)
        self.threads.setSpecialValueText(self.tr("Automatic"))
        self.threads.setValue(settings.n_threads or 0)
        self.default_model = QComboBox(self)
        self.default_model.addItem(self.tr("The first installed model"), None)
        for entry in chat_models:
            self.default_model.addItem(entry.name, entry.name)
            if entry.name == settings.default_model:
                self.default_model.setCurrentIndex(self.default_model.count() - 1)
        self.kv_type = self._choices(KV_TYPES, settings.kv_type)
        self.flash_attn = self._choices(FLASH_MODES, settings.flash_attn)
        self.flash_attn.setAccessibleName(self.tr("Flash attention"))
        self.flash_attn.setToolTip(
            self.tr(
                "Flash attention computes attention in tiles, with less memory for long "
                "contexts; a q8_0 or q4_0 KV cache needs it (applies at the next model load)"
            )
        )
        self.kv_state = QSpinBox(self)
        self.kv_state.setRange(0, 64 * 1024)
        self.kv_state.setSingleStep(256)
        self.kv_state.setSuffix(" MB")
        self.kv_state.setSpecialValueText(self.tr("Off"))
        self.kv_state.setValue(settings.kv_state_mb)
        self.kv_state.setAccessibleName(self.tr("Saved conversations"))
        self.kv_state.setToolTip(
            self.tr(
                "Keep the state of recent conversations on disk, so reopening a long one "
                "does not read it again (applies at the next model load)"
            )
        )
        self.kv_clear = QPushButton(self)
        self.kv_clear.setAccessibleName(self.tr("Clear saved conversation state"))
        self.kv_clear.setToolTip(
            self.tr(
                "Delete the saved state of every conversation now (it holds their content); "
                "the conversations themselves stay"
            )
        )
        self.kv_clear.clicked.connect(self._clear_kv_state)
        self._kv_clear_action = kv_clear
        self._show_kv_used()
        kv_row = QHBoxLayout()
        kv_row.addWidget(self.kv_state, 1)
        kv_row.addWidget(self.kv_clear)
        self.theme = self._choices(THEMES, str(settings.extra.get("theme") or "system"))
        self.language = self._choices(LANGUAGES, str(settings.extra.get("language") or ""))
        note = QLabel(self.tr("A new language applies the next time Hearth starts."), self)
        note.setObjectName("planLabel")
        # With a server service the form becomes the first of two tabs.
        general = QWidget(self) if server is not None else self
        form = QFormLayout(general)
        form.addRow(self.tr("Models folder"), folder_row)
        form.addRow(self.tr("CPU threads"), self.threads)
        form.addRow(self.tr("Default model"), self.default_model)
        form.addRow(self.tr("KV cache"), self.kv_type)
        form.addRow(self.tr("Flash attention"), self.flash_attn)
        form.addRow(self.tr("Saved conversations"), kv_row)
        form.addRow(self.tr("Theme"), self.theme)
        form.addRow(self.tr("Language"), self.language)
        form.addRow("", note)
        # Background mode (app.ui.background) and start at login (app.core.autostart).
        tray = dict(settings.extra.get("tray") or {})
        self.close_to_tray = QCheckBox(self.tr("Keep running in the tray when the window closes"))
        self.close_to_tray.setChecked(bool(tray.get("close_to_tray")))
        self.close_to_tray.setToolTip(self.tr("Quick ask and voice stay in the tray"))
        self.start_at_login = QCheckBox(self.tr("Start Hearth when I log in"))
        self.start_at_login.setChecked(bool(tray.get("start_at_login")))
        self.start_at_login.setToolTip(self.tr("Hearth starts in the tray, or with its window"))
        form.addRow(self.tr("Background"), self.close_to_tray)
        form.addRow("", self.start_at_login)
        # System-wide keys (app.ui.global_keys): push-to-talk and quick ask, off by default.
        from app.ui.global_keys import HotkeyFields

        self.hotkeys = HotkeyFields(settings, general)
        form.addRow(self.tr("Global keys"), self.hotkeys)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.server_panel = None
        self.mcp_panel: McpSettingsPanel | None = None
        self.tools_panel: ToolsSettingsPanel | None = None
        self.documents_panel: DocumentsSettingsPanel | None = None
        if server is None:
            form.addRow(buttons)
        else:
            from app.ui.server_panel import ServerPanel

            self.server_panel = ServerPanel(server, self)
            tabs = QTabWidget(self)
            tabs.addTab(general, self.tr("General"))
            tabs.addTab(self.server_panel, self.tr("API server"))
            from app.ui.mcp_settings import McpSettingsPanel

            # The window's own manager when its servers run (one copy of each server).
            self.mcp_panel = McpSettingsPanel(
                mcp_config or _mcp_config_file(), self, manager=mcp_manager
            )
            self.finished.connect(lambda _result: self._stop_mcp())
            tabs.addTab(self.mcp_panel, self.tr("MCP servers"))
            from app.ui.tools_settings import ToolsSettingsPanel

            self.tools_panel = ToolsSettingsPanel(settings, self, extra_tools=tools)
            tabs.addTab(self.tools_panel, self.tr("Tools"))
            if embedding_models is not None:
                from app.ui.documents_settings import DocumentsSettingsPanel

                self.documents_panel = DocumentsSettingsPanel(
                    settings, embedding_models, self, stale=stale_collections
                )
                tabs.addTab(self.documents_panel, self.tr("Documents"))
            outer = QVBoxLayout(self)
            outer.addWidget(tabs)
            outer.addWidget(buttons)

    def _stop_mcp(self) -> None:
        if self.mcp_panel is not None:
            self.mcp_panel.shutdown()

    def _show_kv_used(self) -> None:
        """The Clear button says how much disk the saved states take."""
        from app.core.units import format_bytes
        from app.services.engine_service import saved_state_bytes

        used = saved_state_bytes()
        self.kv_clear.setText(self.tr("Clear ({size})").format(size=format_bytes(used)))
        self.kv_clear.setEnabled(used > 0)

    def _clear_kv_state(self) -> None:
        from app.services.engine_service import clear_saved_state

        if self._kv_clear_action is not None:
            self._kv_clear_action()  # the engine's RAM; its turn may come after a reply
        clear_saved_state()  # the files at once (a file being written waits)
        self._show_kv_used()

    def _choices(self, options: tuple[tuple[str, str], ...], current: str) -> QComboBox:
        box = QComboBox(self)
        for value, label in options:
            box.addItem(self.tr(label), value)
            if value == current:
                box.setCurrentIndex(box.count() - 1)
        return box

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Models folder"), self.models_dir.text()
        )
        if folder:
            self.models_dir.setText(folder)

    def apply(self) -> Settings:
        """The settings as entered (the caller saves them)."""
        self.settings.models_dir = self.models_dir.text().strip() or None
        self.settings.n_threads = self.threads.value() or None
        self.settings.default_model = self.default_model.currentData()
        self.settings.kv_type = self.kv_type.currentData()
        self.settings.flash_attn = self.flash_attn.currentData()
        self.settings.kv_state_mb = self.kv_state.value()
        self.settings.extra["theme"] = self.theme.currentData()
        self.settings.extra["language"] = self.language.currentData() or None
        tray = dict(self.settings.extra.get("tray") or {})
        tray["start_at_login"] = self.start_at_login.isChecked()
        if self.close_to_tray.isChecked() or "close_to_tray" in tray:
            tray["close_to_tray"] = self.close_to_tray.isChecked()  # else asked at first close
        self.settings.extra["tray"] = tray
        self.hotkeys.apply(self.settings)
        if self.server_panel is not None:
            self.settings.extra.update(self.server_panel.values().to_extra())
        if self.tools_panel is not None:
            self.tools_panel.apply(self.settings)
        if self.documents_panel is not None:
            self.documents_panel.apply(self.settings)
        return self.settings

    def embedding_model_changed(self) -> bool:
        """Whether another embedding model was chosen (documents must be reopened)."""
        return self.documents_panel is not None and self.documents_panel.changed()
