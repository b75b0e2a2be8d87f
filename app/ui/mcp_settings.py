"""The MCP servers page of Preferences: the servers of ``mcp.json`` with their state
(running with its tools, failed with the server's last error output, stopped), add,
remove, paste a configuration from Claude Desktop / LM Studio / Jan, and Test, which
starts a server off the GUI thread. Changes are written to ``mcp.json`` at once."""

from __future__ import annotations

import shlex
import threading
from pathlib import Path

import shiboken6
from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import ConfigError, HearthError
from app.core.i18n import translate
from app.services.background import run_in_background
from app.tools.mcp.client import McpLimits
from app.tools.mcp.config import (
    McpServerConfig,
    add_server,
    load_config,
    merge_servers,
    parse_server,
    parse_text,
    remove_server,
)
from app.tools.mcp.manager import McpManager, ServerStatus
from app.tools.mcp.tools import tool_name

# Marked for lupdate in the panel's context; translated where shown (``_state_text``).
STATE_TEXT: dict[str, str] = {
    "running": str(QT_TRANSLATE_NOOP("McpSettingsPanel", "Running")),
    "starting": str(QT_TRANSLATE_NOOP("McpSettingsPanel", "Starting…")),
    "failed": str(QT_TRANSLATE_NOOP("McpSettingsPanel", "Failed")),
    "stopped": str(QT_TRANSLATE_NOOP("McpSettingsPanel", "Stopped")),
}


class McpSettingsPanel(QWidget):
    """Lists, adds, removes and tests the MCP servers of one ``mcp.json``."""

    tested = Signal(str)  # a server's name, once its test has finished (passed or not)
    changed = Signal()  # mcp.json was written

    def __init__(
        self, config_path: Path, parent: QWidget | None = None, *, manager: McpManager | None = None
    ) -> None:
        super().__init__(parent)
        self.path = config_path
        self._own_manager = manager is None
        self.manager = manager or McpManager(limits=McpLimits(start_s=20.0, list_s=10.0))
        self._disabled: list[McpServerConfig] = []
        self._testing: set[str] = set()

        intro = QLabel(
            self.tr(
                "Programs that give the model tools (MCP servers). Hearth asks before "
                "each call unless you allow the tool on the Tools page."
            ),
            self,
        )
        intro.setWordWrap(True)
        self.servers = QTreeWidget(self)
        self.servers.setHeaderLabels([self.tr("Server"), self.tr("Runs"), self.tr("State")])
        self.servers.setRootIsDecorated(False)
        self.servers.setColumnWidth(0, 130)
        self.servers.setColumnWidth(1, 250)
        self.servers.currentItemChanged.connect(lambda *_: self._show_details())
        self.details = QPlainTextEdit(self)
        self.details.setReadOnly(True)
        self.details.setObjectName("mcpDetails")
        self.details.setPlaceholderText(self.tr("Select a server to see its tools or errors."))
        self.problems = QLabel(self)
        self.problems.setWordWrap(True)
        self.problems.setObjectName("planLabel")
        self.add_button = QPushButton(self.tr("Add…"), self)
        self.add_button.clicked.connect(self._open_add)
        self.paste_button = QPushButton(self.tr("Paste mcp.json…"), self)
        self.paste_button.clicked.connect(self._open_paste)
        self.remove_button = QPushButton(self.tr("Remove"), self)
        self.remove_button.clicked.connect(self.remove_selected)
        self.test_button = QPushButton(self.tr("Test"), self)
        self.test_button.clicked.connect(self.test_selected)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.paste_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.test_button)
        where = QLabel(self.tr("Saved in %1").replace("%1", str(config_path)), self)
        where.setObjectName("planLabel")
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.servers, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.details, 1)
        layout.addWidget(self.problems)
        layout.addWidget(where)
        self.reload()

    # -- the file ------------------------------------------------------------------

    def reload(self) -> None:
        """Read ``mcp.json`` again and show its servers (and why any entry is refused)."""
        try:
            config = load_config(self.path)
        except ConfigError as exc:
            self.problems.setText(str(exc))
            self.manager.configure([])
            self._disabled = []
        else:
            self.problems.setText("\n".join(config.problems))
            self.manager.configure(config.servers)
            self._disabled = [s for s in config.servers if s.disabled]
        self.refresh()

    def add_from_fields(self, name: str, target: str, env_text: str = "") -> McpServerConfig:
        """Add a server from the Add dialog's fields: ``target`` is a URL or a command
        line (split as a shell would); ConfigError says what is wrong."""
        target = target.strip()
        if target.startswith(("http://", "https://")):
            entry: dict[str, object] = {"url": target}
        else:
            try:
                words = shlex.split(target)
            except ValueError as exc:
                raise ConfigError(
                    translate(
                        "Errors",
                        "The command line cannot be read ({error}); check its quotes.",
                    ).format(error=exc)
                ) from exc
            if not words:
                raise ConfigError(
                    translate(
                        "Errors", "Give the command that starts the server, or its local URL."
                    )
                )
            entry = {"command": words[0], "args": words[1:], "env": _env_lines(env_text)}
        server = parse_server(name.strip(), entry)
        add_server(self.path, server)
        self._written()
        self.select(server.name)
        return server

    def paste_config(self, text: str) -> list[str]:
        """Add every server of a pasted configuration; returns their names."""
        pasted = parse_text(text, translate("Errors", "the pasted configuration"))
        if not pasted.servers and pasted.problems:
            raise ConfigError(
                translate(
                    "Errors", "The pasted configuration has no MCP server Hearth can use: {problem}"
                ).format(problem=pasted.problems[0])
            )
        if not pasted.servers:
            raise ConfigError(
                translate("Errors", "The pasted configuration has no MCP server Hearth can use.")
            )
        names = merge_servers(self.path, pasted)
        self._written()
        if pasted.problems:
            self.problems.setText("\n".join(pasted.problems))
        return names

    def remove_selected(self) -> None:
        name = self.selected()
        if name is None:
            return
        try:
            remove_server(self.path, name)
        except ConfigError as exc:
            self.problems.setText(str(exc))
            return
        self._written()

    def _written(self) -> None:
        self.reload()
        self.changed.emit()

    # -- testing -------------------------------------------------------------------

    def test_selected(self) -> None:
        """Start the selected server afresh on a pool thread; the row shows the outcome."""
        name = self.selected()
        if name is None or name in self._testing or any(s.name == name for s in self._disabled):
            return
        self._testing.add(name)
        self.refresh()
        manager = self.manager

        def finish(_value: object) -> None:
            if not shiboken6.isValid(self):  # Preferences was closed during the test
                return
            self._testing.discard(name)
            self.refresh()
            self.tested.emit(name)

        run_in_background(lambda: manager.test(name), finish, finish)

    # -- showing -------------------------------------------------------------------

    def selected(self) -> str | None:
        item = self.servers.currentItem()
        return None if item is None else str(item.data(0, Qt.ItemDataRole.UserRole))

    def select(self, name: str) -> None:
        for i in range(self.servers.topLevelItemCount()):
            item = self.servers.topLevelItem(i)
            if item is not None and item.data(0, Qt.ItemDataRole.UserRole) == name:
                self.servers.setCurrentItem(item)

    def refresh(self) -> None:
        """Redraw the rows from the manager's statuses, keeping the selection."""
        current = self.selected()
        self.servers.clear()
        for status in self.manager.statuses():
            self._add_row(status.name, status.config.describe(), self._state_text(status))
        for server in self._disabled:
            self._add_row(server.name, server.describe(), self.tr("Disabled in mcp.json"))
        if current is not None:
            self.select(current)
        first = self.servers.topLevelItem(0)
        if self.servers.currentItem() is None and first is not None:
            self.servers.setCurrentItem(first)
        self._show_details()

    def _add_row(self, name: str, runs: str, state: str) -> None:
        item = QTreeWidgetItem([name, runs, state])
        item.setData(0, Qt.ItemDataRole.UserRole, name)
        item.setToolTip(1, runs)
        self.servers.addTopLevelItem(item)

    def _state_text(self, status: ServerStatus) -> str:
        if status.name in self._testing:
            return self.tr("Testing…")
        text = self.tr(STATE_TEXT[status.state])
        if status.state == "running":
            return f"{text} · {len(status.tools)} " + (
                self.tr("tool") if len(status.tools) == 1 else self.tr("tools")
            )
        return text

    def state_of(self, name: str) -> str:
        """The State column's text for ``name`` (what the user reads)."""
        for i in range(self.servers.topLevelItemCount()):
            item = self.servers.topLevelItem(i)
            if item is not None and item.data(0, Qt.ItemDataRole.UserRole) == name:
                return item.text(2)
        return ""

    def _show_details(self) -> None:
        name = self.selected()
        has = name is not None
        self.remove_button.setEnabled(has)
        self.test_button.setEnabled(has and name not in self._testing)
        if name is None or name not in self.manager.names():
            self.details.setPlainText("")
            return
        status = self.manager.status(name)
        lines: list[str] = []
        if status.error:
            lines.append(status.error)
        if status.stderr_tail:
            lines += ["", self.tr("Its last error output:"), status.stderr_tail]
        if status.tools:
            lines.append(self.tr("Tools (the model calls them by these names):"))
            for tool in status.tools:
                summary = tool.description.strip().splitlines()[0] if tool.description else ""
                lines.append(f"• {tool_name(tool.server, tool.name)} — {summary}")
        if not lines:
            lines.append(self.tr("Not started yet: press Test to start it and list its tools."))
        self.details.setPlainText("\n".join(lines))

    # -- dialogs -------------------------------------------------------------------

    def _open_add(self) -> None:
        dialog = AddServerDialog(self)
        dialog.open()

    def _open_paste(self) -> None:
        dialog = PasteConfigDialog(self)
        dialog.open()

    def shutdown(self) -> None:
        """Stop the servers this page started (in the background: a stop may take seconds)."""
        if self._own_manager:
            threading.Thread(target=self.manager.close, name="mcp-close", daemon=True).start()


def _env_lines(text: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                translate(
                    "Errors",
                    "{line!r} is not KEY=VALUE; write one variable per line.",
                ).format(line=line.strip())
            )
        env[key.strip()] = value
    return env


class _CheckedDialog(QDialog):
    """A dialog whose OK applies its fields and stays open with the error if that fails."""

    def __init__(self, panel: McpSettingsPanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setObjectName("errorLabel")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

    def apply(self) -> None:
        """Hand the fields to the panel; raises HearthError when they are wrong."""
        raise NotImplementedError

    def save(self) -> None:
        try:
            self.apply()
        except HearthError as exc:
            self.error.setText(str(exc))
            return
        self.accept()


class AddServerDialog(_CheckedDialog):
    """Name, command line or local URL, environment; errors show in the dialog."""

    def __init__(self, panel: McpSettingsPanel) -> None:
        super().__init__(panel)
        self.setWindowTitle(self.tr("Add an MCP server"))
        self.setMinimumWidth(460)
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("files")
        self.kind = QComboBox(self)
        self.kind.addItem(self.tr("A program Hearth starts"), "stdio")
        self.kind.addItem(self.tr("A server running on this computer (URL)"), "url")
        self.target = QLineEdit(self)
        self.target.setPlaceholderText("npx -y @modelcontextprotocol/server-filesystem ~/Documents")
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.env = QPlainTextEdit(self)
        self.env.setPlaceholderText("API_KEY=…")
        self.env.setMaximumHeight(70)
        form = QFormLayout(self)
        form.addRow(self.tr("Name"), self.name)
        form.addRow(self.tr("Kind"), self.kind)
        form.addRow(self.tr("Command"), self.target)
        form.addRow(self.tr("Environment"), self.env)
        form.addRow(self.error)
        form.addRow(self.buttons)

    def _kind_changed(self) -> None:
        url = self.kind.currentData() == "url"
        self.target.setPlaceholderText(
            "http://127.0.0.1:8000/mcp"
            if url
            else "npx -y @modelcontextprotocol/server-filesystem ~/Documents"
        )
        self.env.setEnabled(not url)

    def apply(self) -> None:
        self.panel.add_from_fields(self.name.text(), self.target.text(), self.env.toPlainText())


class PasteConfigDialog(_CheckedDialog):
    """A text box for a configuration copied from Claude Desktop, LM Studio or Jan."""

    def __init__(self, panel: McpSettingsPanel) -> None:
        super().__init__(panel)
        self.setWindowTitle(self.tr("Paste an MCP configuration"))
        self.setMinimumSize(520, 320)
        self.text = QPlainTextEdit(self)
        self.text.setPlaceholderText(
            '{\n  "mcpServers": {\n    "name": {"command": "npx", "args": ["-y", "…"]}\n  }\n}'
        )
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(self.tr("The servers are added to Hearth's; one of the same name is replaced."))
        )
        layout.addWidget(self.text, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def apply(self) -> None:
        self.panel.paste_config(self.text.toPlainText())
