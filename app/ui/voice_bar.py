"""The voice bar above the message box: state, microphone level, what was heard, controls.

Shown while voice mode is on. It only displays what VoiceService reports and forwards
the user's clicks; holding "Hold to talk" (or the F2 key) is push-to-talk. What is heard
shows as the user speaks (greyed and slanted while it is a draft), then as it was finally
heard; with a grace period set, a second row offers the question for correcting before
the answer is spoken.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

PTT_KEY = Qt.Key.Key_F2
LEVEL_FLOOR_DB = -60.0
# After a bare "Hey Hearth." the loop waits this long for the question before it sleeps
# again (``WakeConfig.listen_s``, 8 s, plus the head it reads); the bar follows it.
AWAKE_MS = 10_000


def _typing_in(widget: QWidget | None) -> bool:
    """Whether ``widget`` is a text box with text in it (the user is writing there)."""
    if isinstance(widget, QPlainTextEdit | QTextEdit):
        return bool(widget.toPlainText())
    return isinstance(widget, QLineEdit) and bool(widget.text())


class _HeardLabel(QLabel):
    """One line of what was heard. What does not fit is cut with an ellipsis: at the
    start while it is a draft (the newest words are the ones to see), else at the end;
    the tooltip holds all of it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Takes the room the bar has, never more: a long question must not widen it.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = self.contentsRect()
        elide = Qt.TextElideMode
        mode = elide.ElideLeft if self.property("partial") else elide.ElideRight
        shown = self.fontMetrics().elidedText(self.text(), mode, rect.width())
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        painter.drawText(rect, int(self.alignment()), shown)


class VoiceBar(QWidget):
    """Emits ``stop_requested`` (end voice), ``interrupt_requested`` (stop speaking),
    ``talk_pressed``/``talk_released`` (push-to-talk), ``settings_requested``, and
    ``correction_started`` (the user began fixing the question) then
    ``correction_submitted(text)`` (Enter in the correction field) or
    ``correction_dropped`` (Esc: answer what was heard). ``correction_opened`` and
    ``correction_closed`` frame the grace period, for the message box, the other place a
    correction may be typed (:meth:`hold_for_typing`)."""

    stop_requested = Signal()
    interrupt_requested = Signal()
    talk_pressed = Signal()
    talk_released = Signal()
    settings_requested = Signal()
    correction_started = Signal()
    correction_submitted = Signal(str)
    correction_dropped = Signal()
    correction_opened = Signal()
    correction_closed = Signal()
    permission_answered = Signal(bool)  # Allow (True) or Deny on a tool's permission

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("voiceBar")
        self._labels = {
            "off": self.tr("Voice is off"),
            "starting": self.tr("Starting voice…"),
            "idle": self.tr("Ready"),
            "listening": self.tr("Listening…"),
            "transcribing": self.tr("Transcribing…"),
            "thinking": self.tr("Thinking…"),
            "speaking": self.tr("Speaking…"),
        }
        self.state = "off"
        self.push_to_talk = False
        # With the wake word on, "listening" is asleep until "Hey Hearth" is heard.
        self.wake_word = False
        self.asleep = False
        self._turn_begun = False  # a question was heard since the phrase (or start)
        # Hearth could not make out the question and asked for it again: the loop listens
        # for it without the phrase (as after a bare "Hey Hearth").
        self._listen_again = False
        self._awake_timer = QTimer(self)
        self._awake_timer.setSingleShot(True)
        self._awake_timer.setInterval(AWAKE_MS)
        self._awake_timer.timeout.connect(self._awake_over)
        self.state_label = QLabel(self._labels["off"], self)
        self.state_label.setObjectName("voiceState")
        self.state_label.setMinimumWidth(120)
        self.level = QProgressBar(self)
        self.level.setObjectName("voiceLevel")
        self.level.setRange(0, 100)
        self.level.setTextVisible(False)
        self.level.setFixedSize(90, 8)
        self.level.setToolTip(self.tr("Microphone level"))
        self.heard = _HeardLabel(self)
        self.heard.setObjectName("voiceHeard")
        self.talk_button = QPushButton(self.tr("Hold to talk (F2)"), self)
        self.talk_button.pressed.connect(self.talk_pressed.emit)
        self.talk_button.released.connect(self.talk_released.emit)
        self.interrupt_button = QPushButton(self.tr("Stop speaking"), self)
        self.interrupt_button.clicked.connect(self.interrupt_requested.emit)
        self.settings_button = QPushButton(self.tr("Voice settings"), self)
        self.settings_button.clicked.connect(self.settings_requested.emit)
        self.end_button = QPushButton(self.tr("End voice"), self)
        self.end_button.setObjectName("endVoiceButton")
        self.end_button.clicked.connect(self.stop_requested.emit)
        # The correction row: shown only during a grace period (see offer_correction).
        self.correction_row = QWidget(self)
        self.correction_hint = QLabel(self)
        self.correction = QLineEdit(self)
        self.correction.setObjectName("voiceCorrection")
        self.correction.setAccessibleName(self.tr("Correct what was heard"))
        self.correction.setClearButtonEnabled(True)
        self.correction.textEdited.connect(self._on_correction_edited)
        self.correction.returnPressed.connect(self._submit_correction)
        self.correction.installEventFilter(self)  # Esc: give up correcting
        self.correct_button = QPushButton(self.tr("Correct"), self)
        self.correct_button.clicked.connect(self._submit_correction)
        # Closes the row when the grace period is over, unless the user is typing in it.
        self._grace_timer = QTimer(self)
        self._grace_timer.setSingleShot(True)
        self._grace_timer.timeout.connect(self._grace_over)
        self._countdown = QTimer(self)  # the seconds left, in the hint
        self._countdown.setInterval(250)
        self._countdown.timeout.connect(self._show_time_left)
        self._editing = False
        self._focus_before: QWidget | None = None
        # The permission row: shown while Hearth asks aloud whether it may use a tool.
        self.permission_row = QWidget(self)
        self.permission_question = QLabel(self)
        self.permission_question.setObjectName("voicePermission")
        self.allow_button = QPushButton(self.tr("Allow"), self)
        self.allow_button.clicked.connect(lambda: self._answer_permission(True))
        self.deny_button = QPushButton(self.tr("Deny"), self)
        self.deny_button.clicked.connect(lambda: self._answer_permission(False))
        top = QHBoxLayout()
        top.addWidget(self.state_label)
        top.addWidget(self.level)
        top.addWidget(self.heard, 1)
        for button in (
            self.talk_button,
            self.interrupt_button,
            self.settings_button,
            self.end_button,
        ):
            top.addWidget(button)
        row = QHBoxLayout(self.correction_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.correction_hint)
        row.addWidget(self.correction, 1)
        row.addWidget(self.correct_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 6, 16, 0)
        layout.addLayout(top)
        layout.addWidget(self.correction_row)
        self.correction_row.hide()
        ask = QHBoxLayout(self.permission_row)
        ask.setContentsMargins(0, 0, 0, 0)
        ask.addWidget(self.permission_question, 1)
        ask.addWidget(self.allow_button)
        ask.addWidget(self.deny_button)
        layout.addWidget(self.permission_row)
        self.permission_row.hide()
        self.set_state("off")

    def ask_permission(self, question: str) -> None:
        """Show the question Hearth asks aloud, with Allow and Deny (say yes or no too)."""
        self.permission_question.setText(question)
        self.permission_row.show()

    def close_permission(self, answer: object = None) -> None:
        """The question was answered (by voice or here) or went unanswered."""
        self.permission_row.hide()

    def _answer_permission(self, allowed: bool) -> None:
        self.permission_row.hide()
        self.permission_answered.emit(allowed)

    def set_push_to_talk(self, enabled: bool) -> None:
        self.push_to_talk = enabled
        self.set_state(self.state)

    def follow_settings(self, values: dict[str, object]) -> None:
        """Push-to-talk and the wake word as the voice settings have them (the wake word
        only counts hands-free: the voice settings enable it there only)."""
        self.push_to_talk = bool(values.get("push_to_talk"))
        self.set_wake_word(bool(values.get("wake_word")) and not self.push_to_talk)

    def set_wake_word(self, enabled: bool) -> None:
        """With the wake word on, listening shows as asleep until the phrase is heard."""
        self.wake_word = enabled
        self._sleep()

    def _sleep(self) -> None:
        self._awake_timer.stop()
        self._turn_begun = False
        self.asleep = self.wake_word
        self.set_state(self.state)

    def _awake_over(self) -> None:
        # "Hey Hearth." and then nothing: the loop went back to sleep.
        if not self._turn_begun:
            self._sleep()

    def set_state(self, state: str) -> None:
        if state in ("transcribing", "thinking", "speaking"):
            self._turn_begun = True
            self._awake_timer.stop()
        elif state in ("off", "starting") or (state == "listening" and self._turn_begun):
            # A new run, or the turn after the phrase is over: the phrase is needed again,
            # unless Hearth asked for the question again.
            again = state == "listening" and self._listen_again
            self._turn_begun = self._listen_again = False
            self.asleep = self.wake_word and not again
            if again and self.wake_word:
                self._awake_timer.start()
        self.state = state
        asleep = self.asleep and state == "listening"
        label = self.tr("Asleep — say “Hey Hearth”") if asleep else None
        self.state_label.setText(label or self._labels.get(state, state))
        self.state_label.setToolTip(
            self.tr("Hearth answers only after it hears “Hey Hearth”") if asleep else ""
        )
        self.state_label.setAccessibleName(label or self.tr("Voice state"))
        self.state_label.setProperty("voiceState", state)
        self.state_label.style().unpolish(self.state_label)
        self.state_label.style().polish(self.state_label)
        running = state not in ("off", "starting")
        self.talk_button.setVisible(self.push_to_talk and running)
        self.interrupt_button.setVisible(state in ("thinking", "speaking"))
        self.level.setVisible(running)
        if state == "off":
            self.level.setValue(0)
        if state in ("off", "starting", "listening", "speaking"):
            # Hearth answers (or the turn is over): too late to correct this question.
            self.close_correction()

    def set_status(self, text: str) -> None:
        """What starting voice is doing (opening the microphone, loading Whisper…)."""
        if self.state == "starting":
            self.heard.setText(text)

    def set_level(self, dbfs: float) -> None:
        fraction = (max(LEVEL_FLOOR_DB, min(0.0, dbfs)) - LEVEL_FLOOR_DB) / -LEVEL_FLOOR_DB
        self.level.setValue(round(fraction * 100))

    def show_partial(self, text: str) -> None:
        """What is heard so far, while the user still speaks: greyed and slanted."""
        # A draft may end as a sentence would ("… is?"); it goes on, so it ends in "…".
        draft = text.strip().rstrip(".?!,;:。？！，；：")
        if not draft:
            return
        self.close_correction()  # the user speaks again: a new question is coming
        if self.asleep:
            # Only the wake phrase is shown while asleep: Hearth is awake now.
            self.asleep = False
            self._awake_timer.start()
            self.set_state(self.state)
        self._set_partial(True)
        self.heard.setText(self.tr("Hearing: “%s…”") % draft)

    def show_heard(self, text: str) -> None:
        """What was finally heard: the question Hearth answers."""
        self._set_partial(False)
        self.heard.setText(self.tr("You said: “%s”") % text)

    def show_not_heard(self, _said: str) -> None:
        """Hearth heard speech it could not make out (and says so): ask for it again."""
        self.close_correction()
        self._listen_again = True
        self._set_partial(False)
        self.heard.setText(self.tr("Didn’t catch that — say it again or type it."))

    def _set_partial(self, partial: bool) -> None:
        self.heard.setProperty("partial", partial)
        font = self.heard.font()
        font.setItalic(partial)
        self.heard.setFont(font)
        palette = self.heard.palette()
        role = QPalette.ColorRole.PlaceholderText if partial else QPalette.ColorRole.WindowText
        palette.setColor(QPalette.ColorRole.WindowText, self.palette().color(role))
        self.heard.setPalette(palette)

    # -- correcting what was heard ----------------------------------------------------------
    def offer_correction(self, text: str, seconds: float) -> None:
        """Offer ``text`` for correcting for ``seconds`` (the loop's grace period)."""
        self._editing = False
        focused = QApplication.focusWidget()
        if focused is not self.correction:
            self._focus_before = focused
        self.correction.setText(text)
        self.correction.selectAll()  # typing replaces it; End or a click edits it
        self.correction.show()  # hidden while a correction was typed in the message box
        self.correct_button.show()
        self._grace_timer.start(max(1, round(seconds * 1000)))
        self._countdown.start()
        self._show_time_left()
        self.correction_row.show()
        if not _typing_in(focused):  # never take keys meant for a message being written
            self.correction.setFocus(Qt.FocusReason.OtherFocusReason)
        self.correction_opened.emit()

    @property
    def correcting(self) -> bool:
        return self.correction_row.isVisible()

    def close_correction(self) -> None:
        self._grace_timer.stop()
        self._countdown.stop()
        self._editing = False
        if self.correction_row.isVisible():
            had_focus = self.correction.hasFocus()
            self.correction_row.hide()
            before, self._focus_before = self._focus_before, None
            if had_focus and before is not None:  # back to where the user was typing
                before.setFocus(Qt.FocusReason.OtherFocusReason)
            self.correction_closed.emit()

    def show_correction_result(self, text: str, accepted: bool) -> None:
        """The loop took the correction (the answer follows it), or it came too late."""
        self.close_correction()
        if accepted:
            self.show_heard(text)
        else:
            self._set_partial(False)
            self.heard.setText(self.tr("Too late to correct: Hearth is already answering."))

    def _on_correction_edited(self, _text: str) -> None:
        if not self._editing:
            self._editing = True
            self._countdown.stop()
            self.correction_hint.setText(self.tr("Enter sends it, Esc answers what was heard:"))
            self.correction_started.emit()

    def hold_for_typing(self) -> None:
        """A correction is being typed in the message box: as for one typed here, the row
        stays (no countdown) and the answer waits (``correction_started``); the row's own
        field steps aside, one place to type is clearer than two."""
        if self.correction_row.isVisible() and not self._editing:
            self._editing = True
            self._countdown.stop()
            self.correction.hide()
            self.correct_button.hide()
            self.correction_hint.setText(
                self.tr("Typing in the message box: Enter sends it, Esc answers what was heard.")
            )
            self.correction_started.emit()

    def drop_correction(self) -> None:
        """Give up correcting (Esc here or in the message box): answer what was heard."""
        self._drop_correction()

    def _show_time_left(self) -> None:
        # A coarse timer may report a few ms more than it was started with.
        remaining = min(self._grace_timer.remainingTime(), self._grace_timer.interval())
        left = math.ceil(remaining / 1000)
        self.correction_hint.setText(
            self.tr("Heard wrong? Fix it and press Enter (%d s):") % max(1, left)
        )

    def _grace_over(self) -> None:
        if not self._editing:  # one typing keeps it open until Enter or the answer starts
            self.close_correction()

    def _drop_correction(self) -> None:
        if self.correction_row.isVisible():
            editing = self._editing
            self.close_correction()
            if editing:  # the answer was held for this correction: let it go ahead
                self.correction_dropped.emit()

    def _submit_correction(self) -> None:
        text = self.correction.text().strip()
        if text and self.correction_row.isVisible():
            self.correction_submitted.emit(text)

    # -- push-to-talk key ----------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """F2 held anywhere in the window is push-to-talk (key repeats ignored); Esc in the
        correction field gives up correcting."""
        if (
            watched is self.correction
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
        ):
            self._drop_correction()
            return True
        if (
            self.push_to_talk
            and event.type() in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease)
            and isinstance(event, QKeyEvent)
            and event.key() == PTT_KEY
        ):
            if not event.isAutoRepeat():
                if event.type() == QEvent.Type.KeyPress:
                    self.talk_pressed.emit()
                else:
                    self.talk_released.emit()
            return True
        return super().eventFilter(watched, event)
