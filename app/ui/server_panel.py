"""The settings tab for the local API server and a remote endpoint (widgets only)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.services.server_service import ServerService, ServerSettings


class ServerPanel(QWidget):
    """Edits :class:`ServerSettings`; the switch starts or stops the server at once."""

    def __init__(self, service: ServerService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        current = service.settings
        self.enabled = QCheckBox(self.tr("Serve my models over an OpenAI-compatible API"), self)
        self.enabled.setChecked(service.running)
        self.host = QLineEdit(current.host, self)
        self.port = QSpinBox(self)
        self.port.setRange(1, 65535)
        self.port.setValue(current.port)
        self.api_key = QLineEdit(current.resolved_api_key(), self)
        self.api_key.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.api_key.setPlaceholderText(self.tr("Required to listen beyond this computer"))
        self.cors = QCheckBox(self.tr("Allow web pages to call it (CORS)"), self)
        self.cors.setChecked(current.cors)
        # Without a key, only these may call: the local names, plus what is listed here
        # (as Ollama's OLLAMA_ORIGINS); anything else is refused, so a web page the user
        # visits cannot reach the models, nor can DNS rebinding.
        self.origins = QLineEdit(current.origins, self)
        self.origins.setPlaceholderText("https://app.example, http://localhost:3000")
        self.origins.setToolTip(
            self.tr(
                "Web pages allowed to call the server from a browser, comma-separated. "
                "Pages on this computer (localhost) are always allowed."
            )
        )
        self.hosts = QLineEdit(current.hosts, self)
        self.hosts.setPlaceholderText("myhost.lan, 192.168.1.20")
        self.hosts.setToolTip(
            self.tr(
                "Other names this server answers to, comma-separated, besides localhost "
                "and its own address (for example a name on your network)."
            )
        )
        self.status = QLabel(service.url or self.tr("Not running."), self)
        self.status.setObjectName("planLabel")
        self.status.setWordWrap(True)
        server_box = QGroupBox(self.tr("Local API server"), self)
        server_form = QFormLayout(server_box)
        server_form.addRow(self.enabled)
        server_form.addRow(self.tr("Address"), self.host)
        server_form.addRow(self.tr("Port"), self.port)
        server_form.addRow(self.tr("API key"), self.api_key)
        server_form.addRow(self.cors)
        server_form.addRow(self.tr("Allowed web pages"), self.origins)
        server_form.addRow(self.tr("Other host names"), self.hosts)
        server_form.addRow(self.status)

        self.remote_url = QLineEdit(current.remote_url, self)
        self.remote_url.setPlaceholderText("http://192.168.1.20:8080/v1")
        self.remote_key = QLineEdit(current.resolved_remote_api_key(), self)
        self.remote_key.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.remote_model = QComboBox(self)
        self.remote_model.setEditable(True)
        self.remote_model.setCurrentText(current.remote_model)
        self.check = QPushButton(self.tr("List models"), self)
        self.remote_status = QLabel("", self)
        self.remote_status.setObjectName("planLabel")
        self.remote_status.setWordWrap(True)
        model_row = QHBoxLayout()
        model_row.addWidget(self.remote_model, 1)
        model_row.addWidget(self.check)
        remote_box = QGroupBox(self.tr("Remote endpoint"), self)
        remote_form = QFormLayout(remote_box)
        remote_form.addRow(self.tr("URL"), self.remote_url)
        remote_form.addRow(self.tr("API key"), self.remote_key)
        remote_form.addRow(self.tr("Model"), model_row)
        remote_form.addRow(self.remote_status)

        layout = QVBoxLayout(self)
        layout.addWidget(server_box)
        layout.addWidget(remote_box)
        layout.addStretch(1)

        self.enabled.toggled.connect(self._toggle)
        self.check.clicked.connect(self._check)
        service.status_changed.connect(self.status.setText)
        service.failed.connect(self._failed)
        service.remote_models_listed.connect(self._listed)
        service.remote_failed.connect(self.remote_status.setText)

    def values(self) -> ServerSettings:
        return ServerSettings(
            enabled=self.enabled.isChecked(),
            host=self.host.text().strip() or "127.0.0.1",
            port=self.port.value(),
            api_key=self.api_key.text().strip(),
            cors=self.cors.isChecked(),
            origins=self.origins.text().strip(),
            hosts=self.hosts.text().strip(),
            remote_url=self.remote_url.text().strip(),
            remote_api_key=self.remote_key.text().strip(),
            remote_model=self.remote_model.currentText().strip(),
        )

    def _toggle(self, on: bool) -> None:
        if on:
            if not self.service.start(self.values()):
                self.enabled.setChecked(False)
        else:
            self.service.stop()

    def _failed(self, message: str) -> None:
        self.status.setText(message)

    def _check(self) -> None:
        self.remote_status.setText(self.tr("Asking the endpoint…"))
        self.service.check_remote(self.remote_url.text().strip(), self.remote_key.text().strip())

    def _listed(self, names: list[str]) -> None:
        chosen = self.remote_model.currentText()
        self.remote_model.clear()
        self.remote_model.addItems(names)
        if chosen:
            self.remote_model.setCurrentText(chosen)
        self.remote_status.setText(self.tr("%n model(s) available.", "", len(names)))
