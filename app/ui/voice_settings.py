"""Voice settings: microphone, speaker, language, Whisper model, voice and turn-taking."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from app.core.errors import HearthError
from app.services.types import ModelEntry, WhisperPick
from app.services.voice_service import (
    correction_grace_limit,
    most_final_takes,
    speaking_rates,
)
from app.services.whisper_advice import (
    catalog_costs,
    cost_of,
    short_suggestion_text,
    suggestion,
    suggestion_text,
)

LANGUAGES = (("", "Detect automatically"), ("en", "English"), ("zh", "Chinese (中文)"))
CHINESE_SCRIPTS = (
    ("", "As written"),
    ("simplified", "Simplified (简体)"),
    ("traditional", "Traditional (繁體)"),
)


class VoiceSettingsDialog(QDialog):
    """Edits a copy of the ``voice`` settings dict; :meth:`values` returns it."""

    def __init__(
        self,
        values: dict[str, Any],
        devices: list[tuple[str, bool, bool]],
        speech_models: list[ModelEntry],
        voices: list[ModelEntry],
        parent: QWidget | None = None,
        *,
        whisper_pick: WhisperPick | None = None,
    ) -> None:
        """``whisper_pick``: the Whisper model suggested for this machine (None: worked
        out here from its hardware)."""
        super().__init__(parent)
        self.setWindowTitle(self.tr("Voice settings"))
        self.setMinimumWidth(480)
        self._values = dict(values)
        default = self.tr("System default")
        self.input_device = self._combo(
            [(None, default)] + [(n, n) for n, can_in, _ in devices if can_in],
            values.get("input_device"),
        )
        self.output_device = self._combo(
            [(None, default)] + [(n, n) for n, _, can_out in devices if can_out],
            values.get("output_device"),
        )
        self.language = self._combo(
            [(code or None, self.tr(label)) for code, label in LANGUAGES], values.get("language")
        )
        first = self.tr("The first installed")
        # Each installed Whisper model with its measured cost, and the one this machine suits.
        self.stt_model = self._combo(
            [(None, first)] + [(e.name, self._with_cost(e)) for e in speech_models],
            values.get("stt_model"),
        )
        self.whisper_suggestion = QLabel(self)
        self.whisper_suggestion.setObjectName("planLabel")
        self.whisper_suggestion.setWordWrap(True)
        self.whisper_suggestion.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        try:
            pick = whisper_pick or suggestion(english_only=values.get("language") == "en")
            # Short in the form (a long wrapped label gets cut there); the reason and
            # every size's cost in the tooltip.
            self.whisper_suggestion.setText(self.tr("Suggested: ") + short_suggestion_text(pick))
            self.whisper_suggestion.setToolTip(
                "\n".join(
                    [suggestion_text(pick), ""]
                    + [f"{size}: {cost}" for size, cost in catalog_costs() if cost]
                )
            )
        except HearthError:  # an unreadable catalog: no suggestion
            self.whisper_suggestion.setVisible(False)
        self.chinese_script = self._combo(
            [(code or None, self.tr(label)) for code, label in CHINESE_SCRIPTS],
            values.get("chinese_script"),
        )
        self.voice = self._combo(
            [(None, first)] + [(e.name, e.name) for e in voices], values.get("voice")
        )
        # Replies to Chinese speech: a voice of its own (automatic: an installed zh voice).
        self.chinese_voice = self._combo(
            [(None, self.tr("Automatic"))] + [(e.name, e.name) for e in voices],
            (values.get("voices") or {}).get("zh"),
        )
        self.mode = self._combo(
            [(False, self.tr("Hands-free conversation")), (True, self.tr("Push to talk"))],
            bool(values.get("push_to_talk")),
        )
        self.barge_in = QCheckBox(self.tr("Stop speaking when I start talking"), self)
        self.barge_in.setChecked(bool(values.get("barge_in", True)))
        self.barge_in.setToolTip(
            self.tr(
                "Turn this off for speakers without echo cancellation: Hearth would hear itself."
            )
        )
        self.quick_end = QCheckBox(self.tr("Answer as soon as I finish a sentence"), self)
        self.quick_end.setChecked(bool(values.get("quick_end", True)))
        self.quick_end.setToolTip(
            self.tr(
                "When what you said ends a sentence, a short pause is enough; otherwise "
                "Hearth waits for the full silence below. Turn this off if it cuts you off."
            )
        )
        self.wait_for_final = QCheckBox(self.tr("Check what I said before answering"), self)
        self.wait_for_final.setChecked(bool(values.get("wait_for_final", False)))
        self.wait_for_final.setToolTip(
            self.tr(
                "Hearth starts answering from a quick draft of what you said and, if "
                "Whisper's full pass hears other words, stops and answers again. With this "
                "on it waits for the full pass (about half a second more on two CPU cores) "
                "and never starts a wrong answer."
            )
        )
        self.answer_unsure = QCheckBox(self.tr("Answer unclear drafts at once too"), self)
        self.answer_unsure.setChecked(bool(values.get("answer_unsure_drafts", False)))
        self.answer_unsure.setToolTip(
            self.tr(
                "When Whisper is unsure of its quick draft, Hearth waits for the full pass "
                "before answering: most such drafts are misheard, and their answers would "
                "be stopped and started again. With this on it answers them at once too."
            )
        )
        # Takes of Whisper's full pass (app.voice.stt.SttConfig.final_takes).
        self.final_takes = self._combo(
            [
                (None, self.tr("Automatic: three on a GPU, one on the CPU")),
                (1, self.tr("One (fastest)")),
                *(
                    (count, self.tr("{count}, keep the surest").format(count=count))
                    for count in range(2, most_final_takes() + 1)
                ),
            ],
            values.get("final_takes"),
        )
        self.final_takes.setToolTip(
            self.tr(
                "Whisper's words can change with where the recording of what you said is "
                "cut. With three takes the full pass listens from three starting points, "
                "16 ms apart, and keeps the text Whisper is surest of: fewer misheard words, "
                "for three times the work (about a second more per question on two CPU "
                "cores, little on a GPU)."
            )
        )
        self.answer_unsure.setEnabled(not self.wait_for_final.isChecked())
        self.wait_for_final.toggled.connect(lambda on: self.answer_unsure.setEnabled(not on))
        # "Hey Hearth" (off by default): hands-free only; push to talk needs no wake word.
        self.wake_word = QCheckBox(self.tr("Answer only after “Hey Hearth”"), self)
        self.wake_word.setAccessibleName(self.tr("Wake word"))
        self.wake_word.setChecked(bool(values.get("wake_word", False)))
        self.wake_word.setToolTip(
            self.tr(
                "Hands-free, Hearth waits for “Hey Hearth” and answers what follows it; a "
                "chime says it heard you. Whatever else is said nearby is left alone: only "
                "its first seconds are read, on this computer, to look for the phrase."
            )
        )
        self.wake_word.setEnabled(not self.mode.currentData())
        self.mode.currentIndexChanged.connect(
            lambda _index: self.wake_word.setEnabled(not self.mode.currentData())
        )
        # Without barge-in a user who goes on could not be heard: quick end is off then.
        self.quick_end.setEnabled(self.barge_in.isChecked())
        self.barge_in.toggled.connect(self.quick_end.setEnabled)
        self.silence = QSpinBox(self)
        self.silence.setRange(200, 3000)
        self.silence.setSingleStep(100)
        self.silence.setSuffix(" ms")
        self.silence.setValue(int(values.get("silence_ms") or 600))
        self.speed = QDoubleSpinBox(self)
        self.speed.setRange(*speaking_rates())
        self.speed.setSingleStep(0.1)
        self.speed.setDecimals(1)
        self.speed.setSuffix(" ×")
        self.speed.setValue(float(values.get("speed") or 1.0))
        # A grace period to correct what was heard by typing (0: off, the default).
        grace = float(values.get("correction_grace_s") or 0.0)
        self.correction = QCheckBox(
            self.tr("Wait before answering so I can correct what was heard"), self
        )
        self.correction.setChecked(grace > 0)
        self.correction.setToolTip(
            self.tr(
                "The voice bar shows what Hearth heard; type a fix and press Enter before "
                "the answer is spoken. Every answer waits this long, so it suits push to "
                "talk (2 s) more than hands-free conversation."
            )
        )
        self.correction_s = QDoubleSpinBox(self)
        self.correction_s.setRange(0.5, correction_grace_limit())
        self.correction_s.setSingleStep(0.5)
        self.correction_s.setDecimals(1)
        self.correction_s.setSuffix(" s")
        self.correction_s.setValue(grace if grace > 0 else 2.0)
        self.correction_s.setEnabled(grace > 0)
        self.correction.toggled.connect(self.correction_s.setEnabled)
        note = QLabel(
            self.tr(
                "Changes apply the next time voice starts. Add Whisper models and voices in Models."
            ),
            self,
        )
        note.setObjectName("planLabel")
        note.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(self.tr("Microphone"), self.input_device)
        form.addRow(self.tr("Speaker"), self.output_device)
        form.addRow(self.tr("Language"), self.language)
        form.addRow(self.tr("Speech recognition"), self.stt_model)
        form.addRow("", self.whisper_suggestion)
        form.addRow(self.tr("Voice"), self.voice)
        form.addRow(self.tr("Voice for Chinese"), self.chinese_voice)
        form.addRow(self.tr("Chinese characters"), self.chinese_script)
        form.addRow(self.tr("Mode"), self.mode)
        form.addRow("", self.wake_word)
        form.addRow("", self.barge_in)
        form.addRow(self.tr("Speaking rate"), self.speed)
        form.addRow(self.tr("Silence that ends a turn"), self.silence)
        form.addRow("", self.quick_end)
        form.addRow("", self.wait_for_final)
        form.addRow("", self.answer_unsure)
        form.addRow(self.tr("Full-pass takes"), self.final_takes)
        form.addRow("", self.correction)
        form.addRow(self.tr("Time to correct"), self.correction_s)
        form.addRow("", note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _combo(self, options: list[tuple[Any, str]], current: Any) -> QComboBox:
        box = QComboBox(self)
        # A sound server's device names can be long: the list shows them in full.
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        box.setMinimumContentsLength(28)
        for value, label in options:
            box.addItem(label, value)
            if value == current:
                box.setCurrentIndex(box.count() - 1)
        return box

    @staticmethod
    def _with_cost(entry: ModelEntry) -> str:
        cost = cost_of(entry.path) or cost_of(entry.name)
        return f"{entry.name} ({cost})" if cost else entry.name

    def values(self) -> dict[str, Any]:
        """The settings as entered (the caller saves them)."""
        voices = dict(self._values.get("voices") or {})
        voices.pop("zh", None)
        if self.chinese_voice.currentData():
            voices["zh"] = self.chinese_voice.currentData()
        self._values.update(
            voices=voices,
            input_device=self.input_device.currentData(),
            output_device=self.output_device.currentData(),
            language=self.language.currentData(),
            stt_model=self.stt_model.currentData(),
            voice=self.voice.currentData(),
            chinese_script=self.chinese_script.currentData(),
            push_to_talk=bool(self.mode.currentData()),
            barge_in=self.barge_in.isChecked(),
            quick_end=self.quick_end.isChecked(),
            wait_for_final=self.wait_for_final.isChecked(),
            answer_unsure_drafts=self.answer_unsure.isChecked(),
            final_takes=self.final_takes.currentData(),
            wake_word=self.wake_word.isChecked(),
            silence_ms=self.silence.value(),
            speed=round(self.speed.value(), 1),
            correction_grace_s=(
                round(self.correction_s.value(), 1) if self.correction.isChecked() else 0.0
            ),
        )
        return self._values
