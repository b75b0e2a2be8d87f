"""The first run: the guide when no chat model is installed (pick one that fits this
machine), and the one-time welcome when one is (it answers, a better model is suggested
by the planner's verdict, the microphone can be tried)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import HearthError
from app.core.units import format_bytes
from app.services.background import run_in_background
from app.services.welcome import (
    DEMO_QUESTION,
    Suggestion,
    WelcomeDemo,
    check_microphone,
    mark_welcome_shown,
    suggest_model,
    welcome_shown,
)
from app.ui.icons import apply_icon

if TYPE_CHECKING:
    from app.services.types import ChatModel, DownloadProgress, WhisperPick
    from app.services.welcome import MicCheck
    from app.ui.main_window import MainWindow

SHOWN = 5


class FirstRunGuide(QFrame):
    """A short list of catalog models for this machine, each with a Download button."""

    download_requested = Signal(str, str)  # repo id, file

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("firstRun")
        title = QLabel(self.tr("Welcome to Hearth"), self)
        title.setObjectName("firstRunTitle")
        intro = QLabel(
            self.tr(
                "No chat model is installed yet. These fit this computer; pick one to "
                "download. After that, Hearth works without a network."
            ),
            self,
        )
        intro.setWordWrap(True)
        self.grid = QGridLayout()
        # The speech recognition suggested for this machine (app.catalog.whisper_pick).
        self.speech = QLabel(self)
        self.speech.setObjectName("planLabel")
        self.speech.setWordWrap(True)
        self.speech.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.speech.setVisible(False)
        self.status = QLabel(self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addLayout(self.grid)
        layout.addWidget(self.speech)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.buttons: list[QPushButton] = []

    def show_models(self, models: list[ChatModel]) -> None:
        for row, model in enumerate(models[:SHOWN]):
            name = QLabel(f"<b>{model.name}</b> · {model.parameters} · {model.quant}", self)
            details = QLabel(
                f"{model.description} ({format_bytes(model.approx_size_gb * 1e9)}, "
                f"{', '.join(model.languages)}, {model.license})",
                self,
            )
            details.setWordWrap(True)
            details.setObjectName("planLabel")
            button = QPushButton(self.tr("Download"), self)
            button.clicked.connect(
                lambda _checked=False, m=model: self.download_requested.emit(m.repo, m.file)
            )
            self.buttons.append(button)
            self.grid.addWidget(name, row * 2, 0)
            self.grid.addWidget(button, row * 2, 1, Qt.AlignmentFlag.AlignRight)
            self.grid.addWidget(details, row * 2 + 1, 0, 1, 2)

    def show_speech(self, pick: WhisperPick) -> None:
        """Which Whisper model suits this computer for talking to Hearth, and its cost."""
        from app.services.whisper_advice import suggestion_text

        self.speech.setText(self.tr("Speech recognition: ") + suggestion_text(pick))
        self.speech.setVisible(True)

    def show_error(self, message: str) -> None:
        self.status.setText(message)

    def show_progress(self, progress: DownloadProgress) -> None:
        self.progress.setVisible(True)
        self.progress.setValue(int((progress.fraction or 0) * 1000))
        for button in self.buttons:
            button.setEnabled(False)
        state = progress.error or progress.state.value
        self.status.setText(f"{progress.filename}: {state}")
        if progress.error:
            for button in self.buttons:
                button.setEnabled(True)


class WelcomeDialog(QDialog):
    """Hello from Hearth: the model answering, a better model, the microphone test."""

    download_requested = Signal(str, str)  # repo id, file
    mic_test_requested = Signal()

    def __init__(self, parent: QWidget | None = None, *, voice: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        self.setWindowTitle(self.tr("Welcome to Hearth"))
        self.setModal(False)  # the window stays usable behind it
        self.resize(620, 560)
        title = QLabel(self.tr("Welcome to Hearth"), self)
        title.setObjectName("firstRunTitle")
        title.setStyleSheet("font-size: 20px; font-weight: bold;")
        intro = QLabel(
            self.tr(
                "Everything runs on this computer: what you type and say never leaves it, "
                "and Hearth keeps working without a network."
            ),
            self,
        )
        intro.setWordWrap(True)
        # 1. The starter model, answering for real.
        # The question as the model gets it (in English: the starter model's language).
        self.question = QLabel(self.tr("You: %s") % DEMO_QUESTION, self)
        self.question.setWordWrap(True)
        self.answer = QTextBrowser(self)
        self.answer.setObjectName("welcomeAnswer")
        self.answer.setAccessibleName(self.tr("The model's answer"))
        self.answer.setToolTip(self.tr("Written just now by the model on this computer"))
        self.answer.setMaximumHeight(90)
        self.demo_status = self._muted_label()
        self.demo_status.setText(self.tr("Waiting for the model to load…"))
        # 2. A better model for this machine, by the planner's verdict.
        self.suggestion = QLabel(self.tr("Checking what this computer can run…"), self)
        self.suggestion.setWordWrap(True)
        self.suggestion.setTextFormat(Qt.TextFormat.RichText)
        self.verdict = self._muted_label()
        self.download_button = QPushButton(self.tr("Download it"), self)
        self.download_button.setToolTip(
            self.tr("Download the suggested model; you can keep chatting meanwhile")
        )
        self.download_button.setVisible(False)
        apply_icon(self.download_button, "import")
        # 3. The microphone.
        self.mic_button = QPushButton(self.tr("Test the microphone"), self)
        self.mic_button.setToolTip(
            self.tr("Listen for three seconds on the microphone chosen in Voice settings")
        )
        apply_icon(self.mic_button, "talk")
        self.mic_result = self._muted_label()
        self.mic_result.setText(self.tr("Say something after you press it."))
        # Leaving.
        self.skip_button = QPushButton(self.tr("Skip"), self)
        self.skip_button.setToolTip(self.tr("Close the welcome; it is not shown again"))
        self.start_button = QPushButton(self.tr("Start chatting"), self)
        self.start_button.setToolTip(self.tr("Close the welcome and go to the chat"))
        self.start_button.setDefault(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(8)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addWidget(self._heading(self.tr("It works here")))
        layout.addWidget(self.question)
        layout.addWidget(self.answer)
        layout.addWidget(self.demo_status)
        layout.addWidget(self._heading(self.tr("A better model for this computer")))
        layout.addWidget(self.suggestion)
        layout.addWidget(self.verdict)
        row = QHBoxLayout()
        row.addWidget(self.download_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.mic_heading = self._heading(self.tr("Talk to Hearth"))
        layout.addWidget(self.mic_heading)
        mic_row = QHBoxLayout()
        mic_row.addWidget(self.mic_button)
        mic_row.addWidget(self.mic_result, 1)
        layout.addLayout(mic_row)
        layout.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.skip_button)
        buttons.addWidget(self.start_button)
        layout.addLayout(buttons)
        for widget in (self.mic_heading, self.mic_button, self.mic_result):
            widget.setVisible(voice)
        self.suggested: Suggestion | None = None
        self.demo: WelcomeDemo | None = None  # set by show_welcome
        self.skip_button.clicked.connect(self.reject)
        self.start_button.clicked.connect(self.accept)
        self.download_button.clicked.connect(self._download)
        self.mic_button.clicked.connect(self._test_mic)

    def _heading(self, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setStyleSheet("font-weight: bold; margin-top: 8px;")
        return label

    def _muted_label(self) -> QLabel:
        label = QLabel(self)
        label.setObjectName("planLabel")
        label.setWordWrap(True)
        return label

    # -- the demo answer -------------------------------------------------------------------

    def unnamed_model(self) -> str:
        return self.tr("The model")

    def demo_started(self, model: str) -> None:
        self.answer.clear()
        self.demo_status.setText(self.tr("%s is answering…") % model)

    def demo_delta(self, text: str) -> None:
        self.answer.insertPlainText(text)

    def demo_finished(self, model: str, tokens_per_s: float) -> None:
        self.demo_status.setText(
            self.tr("Answered by %s on this computer, %s tokens per second.")
            % (model, f"{tokens_per_s:.1f}")
        )

    def demo_failed(self, message: str) -> None:
        self.demo_status.setText(message)

    # -- the suggestion --------------------------------------------------------------------

    def show_suggestion(self, suggestion: Suggestion | None) -> None:
        self.suggested = suggestion
        if suggestion is None:
            self.suggestion.setText(
                self.tr("You already have the best model in Hearth's list for this computer.")
            )
            self.verdict.clear()
            self.download_button.hide()
            return
        model = suggestion.model
        self.suggestion.setText(
            self.tr("<b>%s</b> (%s, %s) is smarter and runs here: %s")
            % (
                model.name,
                model.parameters,
                format_bytes(model.approx_size_gb * 1e9),
                model.description,
            )
            + "<br>"
            + self.speed_sentence(suggestion.tokens_per_s)
        )
        self.verdict.setText(suggestion.fit.explanation)
        self.verdict.setToolTip(suggestion.fit.describe())
        self.download_button.setText(self.tr("Download %s") % model.name)
        self.download_button.show()

    def speed_sentence(self, tokens_per_s: float) -> str:
        """How fast the suggested model should answer here (app.catalog.speed)."""
        return (
            self.tr(
                "It should write about %s tokens per second here (an estimate from this "
                "computer's processor, memory and graphics card)."
            )
            % f"{tokens_per_s:.0f}"
        )

    def suggestion_failed(self, message: str) -> None:
        self.suggestion.setText(message)

    def _download(self) -> None:
        if self.suggested is not None:
            self.download_requested.emit(self.suggested.model.repo, self.suggested.model.file)
            self.download_button.setEnabled(False)
            self.verdict.setText(self.tr("Downloading; it appears in the model list when done."))

    # -- the microphone --------------------------------------------------------------------

    def _test_mic(self) -> None:
        self.mic_button.setEnabled(False)
        self.mic_result.setText(self.tr("Listening… say something."))
        self.mic_test_requested.emit()

    def show_mic(self, check: MicCheck) -> None:
        self.mic_button.setEnabled(True)
        if check.heard:
            text = self.tr("Heard you on %s (loudest %s dBFS). Press Talk to speak to Hearth.")
        else:
            text = self.tr(
                "Heard nothing on %s (loudest %s dBFS); check that it is not muted, or pick "
                "another microphone in Voice settings."
            )
        self.mic_result.setText(text % (check.device, f"{check.peak_dbfs:.0f}"))

    def mic_failed(self, message: str) -> None:
        self.mic_button.setEnabled(True)
        self.mic_result.setText(message)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.reject()
        event.accept()


def show_welcome(window: MainWindow, *, force: bool = False) -> WelcomeDialog | None:
    """Show the welcome over ``window`` once (``force``: again); it is remembered as shown
    as soon as it appears, so a crash or a kill never brings it back."""
    preferences = window.preferences
    if preferences is None or (welcome_shown(preferences.settings) and not force):
        return None
    mark_welcome_shown(preferences)
    dialog = WelcomeDialog(window, voice=window.voice is not None)
    models, engine = window.models, window.chat.engine
    demo = WelcomeDemo(engine, dialog)
    dialog.demo = demo

    def model_name() -> str:
        return models.current.name if models.current is not None else dialog.unnamed_model()

    def start_demo(_event: Any = None) -> None:
        if dialog.isVisible() and demo.request_id is None and not demo.text:
            dialog.demo_started(model_name())
            demo.start()

    demo.delta.connect(dialog.demo_delta)
    demo.finished.connect(
        lambda event: dialog.demo_finished(model_name(), event.stats.tokens_per_s)
    )
    demo.failed.connect(dialog.demo_failed)
    dialog.finished.connect(lambda _code: demo.cancel())
    models.model_ready.connect(start_demo)
    dialog.destroyed.connect(lambda: _disconnect(models.model_ready, start_demo))

    def alive(callback: Callable[[Any], None]) -> Callable[[Any], None]:
        """``callback`` unless the dialog went with its window while the work ran."""
        return lambda value: callback(value) if shiboken6.isValid(dialog) else None

    if window.downloads is not None:
        dialog.download_requested.connect(window.downloads.download)
    installed = [entry.path for entry in models.chat_models()]
    run_in_background(
        lambda: suggest_model(installed),
        alive(dialog.show_suggestion),
        alive(lambda exc: dialog.suggestion_failed(str(exc))),
    )
    voice = window.voice
    if voice is not None:

        def mic_failed(exc: HearthError) -> None:
            dialog.mic_failed(str(exc))

        dialog.mic_test_requested.connect(
            lambda: run_in_background(
                lambda: check_microphone(voice.settings()),
                alive(dialog.show_mic),
                alive(mic_failed),
            )
        )
    dialog.show()
    if models.loaded is not None:
        start_demo()
    return dialog


def _disconnect(signal: Any, slot: Any) -> None:
    with contextlib.suppress(RuntimeError, TypeError):  # already gone with its receiver
        signal.disconnect(slot)
