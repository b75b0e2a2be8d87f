"""Preferences, Tools tab: which tools the model may call, how each asks, which folders.

Every tool starts off; a checked one is offered in conversations. Its permission says
what happens when the model calls it: run at once, ask each time (the default for
anything that reads the user's files or history), or never. ``read_file`` reads only
inside the folders listed here.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.settings import Settings
from app.services.tool_service import Tool, registry_for

PERMISSION_LABELS = (
    ("allow", "Always allow"),
    ("ask", "Ask each time"),
    ("never", "Never"),
)


class ToolsSettingsPanel(QWidget):
    """The Tools tab; ``apply`` writes the choices into the settings (caller saves)."""

    def __init__(
        self,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        extra_tools: list[Tool] | None = None,
    ) -> None:
        """``extra_tools``: the running MCP servers' tools, listed after the built-ins."""
        super().__init__(parent)
        self.registry = registry_for(settings)
        for tool in extra_tools or []:
            if self.registry.get(tool.name) is None:
                self.registry.register(tool)
        self.enabled: dict[str, QCheckBox] = {}
        self.permissions: dict[str, QComboBox] = {}
        intro = QLabel(
            self.tr(
                "Tools let the model look things up while it answers. None reaches the "
                "network. Each is off until you turn it on."
            ),
            self,
        )
        intro.setWordWrap(True)
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        for row, tool in enumerate(self.registry.tools()):
            # A built-in tool's name and description in the window's language (the
            # model still reads the English ones); an MCP server's stay as it gives them.
            description = self.tr(tool.description)
            check = QCheckBox(self.tr(tool.label), self)
            check.setObjectName(f"toolEnabled_{tool.name}")
            check.setChecked(self.registry.is_enabled(tool.name))
            check.setToolTip(description)
            about = QLabel(description, self)
            about.setObjectName("planLabel")
            about.setWordWrap(True)
            permission = QComboBox(self)
            permission.setObjectName(f"toolPermission_{tool.name}")
            for value, label in PERMISSION_LABELS:
                permission.addItem(self.tr(label), value)
            permission.setCurrentIndex(
                [v for v, _ in PERMISSION_LABELS].index(self.registry.permission(tool.name))
            )
            grid.addWidget(check, row, 0)
            grid.addWidget(about, row, 1)
            grid.addWidget(permission, row, 2, Qt.AlignmentFlag.AlignTop)
            self.enabled[tool.name] = check
            self.permissions[tool.name] = permission
        self.folders = QListWidget(self)
        self.folders.setObjectName("toolFolders")
        self.folders.addItems(self.registry.settings.folders)
        add = QPushButton(self.tr("Add folder…"), self)
        remove = QPushButton(self.tr("Remove"), self)
        add.clicked.connect(self._add_folder)
        remove.clicked.connect(self._remove_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(grid)
        layout.addWidget(QLabel(self.tr("Folders “Read a file” may read:"), self))
        layout.addWidget(self.folders, 1)
        layout.addLayout(buttons)

    def folder_list(self) -> list[str]:
        return [self.folders.item(i).text() for i in range(self.folders.count())]

    def add_folder(self, folder: str) -> None:
        if folder and folder not in self.folder_list():
            self.folders.addItem(folder)

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("A folder tools may read"))
        self.add_folder(folder)

    def _remove_folder(self) -> None:
        for item in self.folders.selectedItems():
            self.folders.takeItem(self.folders.row(item))

    def apply(self, settings: Settings) -> None:
        """Write the choices into ``settings.extra`` (the caller saves the settings)."""
        for name, check in self.enabled.items():
            self.registry.set_enabled(name, check.isChecked())
            self.registry.set_permission(name, self.permissions[name].currentData())
        self.registry.settings.folders = self.folder_list()
        self.registry.save_to(settings)
