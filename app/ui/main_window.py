"""The Hearth window: conversations on the left, the chat on the right.

Widgets only display and forward: every decision lives in ChatService and ModelService.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.services.background import run_in_background
from app.services.chat_service import ChatService, params_from_settings
from app.services.document_service import DocumentService
from app.services.download_service import DownloadService
from app.services.lora_service import LoraChoice, choices_for
from app.services.model_service import REMOTE_SOURCE, ModelService
from app.services.preferences import Preferences
from app.services.server_service import ServerService
from app.services.types import ModelEntry, ModelLoaded, Preset
from app.services.voice_service import VoiceService
from app.services.whisper_advice import suggestion as whisper_suggestion
from app.ui.accessibility import watch_names
from app.ui.chat_view import ChatView
from app.ui.composer import Composer, image_files
from app.ui.conversation_settings import ConversationSettingsDialog
from app.ui.doc_attach import wire_documents
from app.ui.documents_page import DocumentsPage
from app.ui.first_run import FirstRunGuide
from app.ui.header import ChatHeader
from app.ui.resources import asset_path
from app.ui.shortcuts_sheet import SHEET_KEYS, ShortcutsSheet
from app.ui.sidebar import Sidebar
from app.ui.vision_badge import vision_models
from app.ui.vision_offer import VisionOffer
from app.ui.voice_bar import VoiceBar

if TYPE_CHECKING:
    from app.ui.settings_dialog import SettingsDialog


class Banner(QWidget):
    """A dismissable message above the chat (errors in red, notices in grey)."""

    def __init__(self, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.label.setObjectName(object_name)
        self.label.setWordWrap(True)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 4, 16, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.hide()

    def show_text(self, text: str) -> None:
        self.label.setText(text)
        self.show()


class MainWindow(QMainWindow):
    def __init__(
        self,
        chat: ChatService,
        models: ModelService,
        *,
        dark: bool,
        downloads: DownloadService | None = None,
        preferences: Preferences | None = None,
        voice: VoiceService | None = None,
        server: ServerService | None = None,
        documents: DocumentService | None = None,
    ) -> None:
        super().__init__()
        self.documents = documents
        self.chat = chat
        self.models = models
        self.voice = voice
        self.server = server
        self.downloads = downloads
        self.preferences = preferences
        self.setWindowTitle("Hearth")
        icon = asset_path("icons", "hearth.svg")
        if icon is not None:
            self.setWindowIcon(QIcon(str(icon)))
        self.setAcceptDrops(True)
        self.resize(1100, 760)

        self.sidebar = Sidebar(self)
        self.header = ChatHeader(self)
        self.error_banner = Banner("errorBanner", self)
        self.notice_banner = Banner("noticeBanner", self)
        self.vision_offer = VisionOffer(self)
        self.chat_view = ChatView(dark=dark, parent=self)
        self.first_run = FirstRunGuide(self)
        self.first_run.hide()
        self.composer = Composer(self)
        self.voice_bar = VoiceBar(self)
        self.voice_bar.hide()
        self.composer.voice_button.setVisible(voice is not None)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(0)
        for widget in (self.header, self.error_banner, self.notice_banner, self.vision_offer):
            right_layout.addWidget(widget)
        right_layout.addWidget(self.first_run, 1)
        right_layout.addWidget(self.chat_view, 1)
        right_layout.addWidget(self.voice_bar)
        right_layout.addWidget(self.composer)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.sidebar)
        # The chat, or the Documents page in its place.
        self.pages = QStackedWidget(self)
        self.pages.addWidget(right)
        self.documents_page = DocumentsPage(documents, self) if documents is not None else None
        if self.documents_page is not None:
            self.pages.addWidget(self.documents_page)
        self.splitter.addWidget(self.pages)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 840])
        self.setCentralWidget(self.splitter)
        if downloads is not None:
            downloads.finished.connect(lambda _progress: models.models_changed.emit())
        self._wire()
        self._wire_voice()
        self._wire_documents()
        # The documents this conversation reads, and the references under its answers.
        self.documents_bar = wire_documents(
            chat, self.chat_view, self.composer, documents, self.show_error
        )
        self._wire_images()
        self._shortcuts()
        self.refresh_conversations()
        self.refresh_models()
        self._restore_geometry()
        watch_names(self)  # screen-reader names for every control, dialogs included

    # -- wiring --------------------------------------------------------------------------
    def _wire(self) -> None:
        chat, models = self.chat, self.models
        self.sidebar.new_requested.connect(chat.new_conversation)
        self.sidebar.selected.connect(chat.select)
        self.sidebar.rename_requested.connect(chat.rename)
        self.sidebar.pin_requested.connect(chat.set_pinned)
        self.sidebar.delete_requested.connect(chat.delete)
        self.sidebar.export_requested.connect(self.export_conversation)
        self.sidebar.search_changed.connect(self._search)
        self.composer.submitted.connect(self._send)
        self.composer.edit_submitted.connect(chat.edit_and_resend)
        self.composer.stop_requested.connect(chat.stop)
        self.chat_view.regenerate_requested.connect(chat.regenerate)
        self.chat_view.edit_requested.connect(self.composer.begin_edit)
        self.header.model_chosen.connect(self.load_model)
        self.header.preset_chosen.connect(self._apply_preset)
        self.header.settings_requested.connect(self.open_conversation_settings)
        self.header.models_requested.connect(self.open_model_manager)
        self.header.app_settings_requested.connect(self.open_preferences)

        chat.conversations_changed.connect(self.refresh_conversations)
        chat.current_changed.connect(lambda _id: self._refresh_presets())
        chat.messages_reset.connect(self.chat_view.set_messages)
        chat.message_added.connect(self.chat_view.add_message)
        chat.reply_delta.connect(self.chat_view.append_delta)
        chat.reasoning_delta.connect(self.chat_view.append_reasoning)
        chat.reply_finished.connect(self.chat_view.finish)
        chat.tools.tools_changed.connect(self.chat_view.set_tools)
        self.chat_view.tool_action.connect(self._on_tool_action)
        chat.busy_changed.connect(self.composer.set_busy)
        chat.error_occurred.connect(self.show_error)
        chat.notice_posted.connect(self.notice_banner.show_text)

        models.models_changed.connect(self.refresh_models)
        models.load_started.connect(self.header.show_loading)
        models.load_progress.connect(self.header.show_progress)
        models.model_ready.connect(self._on_model_ready)
        models.load_failed.connect(self._on_load_failed)
        models.import_failed.connect(self.show_error)

    def _wire_images(self) -> None:
        """Images in the conversation: dropped ones go to the message box (watched after
        the documents' drops, so images are taken first), stored ones are shown, and a
        model that reads text only offers the ones that see."""
        for widget in (self.chat_view, self.chat_view.viewport(), self.composer.edit):
            self.composer.watch_drops(widget)
        self.chat_view.image_source = self.chat.store.image
        self.chat.vision_refused.connect(self._on_vision_refused)
        self.vision_offer.model_chosen.connect(self.load_model)
        self.vision_offer.models_requested.connect(self.open_model_manager)

    def _on_vision_refused(self, text: str, images: list[Any], sentence: str) -> None:
        """Nothing is lost: the text and images go back in the box (unless it already
        holds them), and the installed vision models are offered."""
        composer = self.composer
        if text and text not in composer.text():
            composer.edit.setPlainText((composer.text() + "\n" + text).strip())
        kept = {image.sha256 for image in composer.attachments.images()}
        composer.attachments.add_prepared([i for i in images if i.sha256 not in kept])
        self.vision_offer.offer(sentence, vision_models(self.models.chat_models()))

    def _wire_voice(self) -> None:
        voice, bar = self.voice, self.voice_bar
        if voice is None:
            return
        self.composer.voice_toggled.connect(self.set_voice_mode)
        self.composer.stop_requested.connect(voice.interrupt)
        bar.stop_requested.connect(lambda: self.set_voice_mode(False))
        bar.interrupt_requested.connect(voice.interrupt)
        bar.talk_pressed.connect(voice.press)
        bar.talk_released.connect(voice.release)
        bar.settings_requested.connect(self.open_voice_settings)
        self.installEventFilter(bar)
        voice.state_changed.connect(self._on_voice_state)
        voice.status_changed.connect(bar.set_status)
        voice.level_changed.connect(bar.set_level)
        # Bound slots of widgets, so the signals from the voice threads are queued.
        voice.transcript_partial.connect(bar.show_partial)
        voice.transcript_ready.connect(self._on_transcript)
        voice.not_heard.connect(bar.show_not_heard)
        voice.correction_offered.connect(bar.offer_correction)
        bar.correction_started.connect(voice.hold_correction)
        bar.correction_dropped.connect(voice.end_correction)
        bar.correction_submitted.connect(self._correct_question)
        # The message box takes a correction too while the bar offers one.
        composer = self.composer
        bar.correction_opened.connect(composer.begin_correction)
        bar.correction_closed.connect(composer.end_correction)
        composer.correction_started.connect(bar.hold_for_typing)
        composer.correction_dropped.connect(bar.drop_correction)
        composer.correction_submitted.connect(self._correct_from_composer)
        voice.permission_asked.connect(bar.ask_permission)
        voice.permission_closed.connect(bar.close_permission)
        bar.permission_answered.connect(voice.answer_permission)
        # Spoken turns reach the conversation through the chat service, and are shown by
        # its signals like typed ones.
        voice.failed.connect(self.show_error)

    def _wire_documents(self) -> None:
        page = self.documents_page
        self.sidebar.documents_button.setVisible(page is not None)
        if page is None:
            return
        self.sidebar.documents_requested.connect(self.show_documents)
        page.back_requested.connect(self.show_chat)
        self.sidebar.new_requested.connect(self.show_chat)
        self.sidebar.selected.connect(lambda _id: self.show_chat())
        # Indexing shows on the Documents button while the chat is in front.
        page.activity_changed.connect(self.sidebar.show_documents_activity)

    def show_documents(self) -> None:
        """The Documents page in place of the chat."""
        if self.documents_page is not None:
            self.documents_page.refresh()
            self.pages.setCurrentWidget(self.documents_page)

    def show_chat(self) -> None:
        self.pages.setCurrentIndex(0)

    def _shortcuts(self) -> None:
        def add(
            keys: QKeySequence | QKeySequence.StandardKey | str, slot: object, name: str
        ) -> None:
            action = QAction(name, self)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(slot)
            self.addAction(action)

        add(QKeySequence.StandardKey.New, self.chat.new_conversation, self.tr("New chat"))
        add(QKeySequence.StandardKey.Find, self.sidebar.search.setFocus, self.tr("Search"))
        add("Ctrl+L", self.composer.edit.setFocus, self.tr("Focus the message box"))
        add("Ctrl+.", self.chat.stop, self.tr("Stop"))
        add("Ctrl+Shift+R", self.chat.regenerate, self.tr("Regenerate"))
        add(SHEET_KEYS, self.show_shortcuts, self.tr("Keyboard shortcuts"))

    def show_shortcuts(self) -> QDialog:
        """The keyboard shortcuts sheet (Ctrl+/)."""
        sheet = ShortcutsSheet(self)
        sheet.open()
        return sheet

    # -- actions -------------------------------------------------------------------------
    def _send(self, text: str) -> None:
        if self.models.loaded is None and not self.models.loading:
            self.show_error(self.tr("No model is loaded. Choose a model at the top first."))
            self.composer.edit.setPlainText(text)
            return
        self.error_banner.hide()
        self.notice_banner.hide()
        self.vision_offer.hide()
        images = self.composer.attachments.images()
        if self.composer.attachments.pending:
            self.composer.edit.setPlainText(text)
            self.show_error(self.tr("An image is still being prepared; send again in a moment."))
            return
        if self.chat.send(text, images):
            self.composer.images_sent()
        # Refused (a model that reads text only): the text is put back, the images stayed.

    # -- voice ---------------------------------------------------------------------------
    def set_voice_mode(self, on: bool) -> None:
        """Start or end the spoken conversation (the mic button, the voice bar)."""
        voice = self.voice
        if voice is None:
            return
        if not on:
            voice.stop()
            return
        if self.models.loaded is None:
            self.composer.set_voice_on(False)
            self.show_error(self.tr("No model is loaded. Choose a model at the top first."))
            return
        self.error_banner.hide()
        settings = self.chat.settings()
        params = params_from_settings(settings)
        # Spoken answers are short; a long one would keep the user waiting to talk.
        voice_params = replace(params, max_tokens=min(params.max_tokens or 256, 256))
        self.voice_bar.follow_settings(voice.settings())
        voice.start(self.chat, voice_params, attachments=self.composer.attachments)

    def _on_transcript(self, text: str, _language: str) -> None:
        self.voice_bar.show_heard(text)

    def _correct_question(self, text: str) -> None:
        """A correction typed during the grace period: the answer follows it instead."""
        if self.voice is not None:
            self.voice_bar.show_correction_result(text, self.voice.correct(text))

    def _correct_from_composer(self, text: str) -> None:
        """A correction typed in the message box: taken, it leaves the box; too late, it
        stays there to send as a message."""
        if self.voice is not None:
            accepted = self.voice.correct(text)
            if accepted:
                self.composer.edit.clear()
            self.voice_bar.show_correction_result(text, accepted)

    def _on_voice_state(self, state: str) -> None:
        self.voice_bar.set_state(state)
        self.voice_bar.setVisible(state != "off")
        self.composer.set_voice_on(state != "off")

    def open_voice_settings(self) -> QDialog | None:
        voice = self.voice
        if voice is None or self.preferences is None:
            return None
        from app.ui.voice_settings import VoiceSettingsDialog

        dialog = VoiceSettingsDialog(
            voice.settings(),
            voice.devices(),
            self.models.speech_models(),
            self.models.voices(),
            self,
        )
        preferences = self.preferences

        def save() -> None:
            settings = preferences.settings
            settings.extra["voice"] = dialog.values()
            preferences.save(settings)
            self.voice_bar.follow_settings(dialog.values())

        dialog.accepted.connect(save)
        dialog.open()
        return dialog

    def load_model(self, entry: ModelEntry) -> None:
        self.models.load(entry, self.chat.load_overrides())

    def _on_model_ready(self, event: ModelLoaded) -> None:
        self.header.show_loaded(event.plan, event.n_gpu_layers)
        if event.notice:  # e.g. the model's own chat template failed; a built-in one is used
            self.notice_banner.show_text(event.notice)
        entry = self.models.current
        self.chat.model_name = entry.name if entry else Path(event.path).stem
        self.chat.model_loaded(event.path, event.chat_format_source, vision=event.vision)
        self.vision_offer.hide()
        self.refresh_models()

    def _on_tool_action(self, action: str, call_id: str) -> None:
        """Allow, Deny or Stop on a tool call's card."""
        if action == "stop":
            self.chat.tools.stop_call(call_id)
        else:
            self.chat.tools.answer(call_id, action == "allow")

    def _on_load_failed(self, message: str) -> None:
        self.header.show_load_failed()
        self.show_error(message)

    def show_error(self, message: str) -> None:
        self.error_banner.show_text(message)

    def _search(self, query: str) -> None:
        if query.strip():
            self.sidebar.show_search_results(self.chat.store.search(query))
        else:
            self.refresh_conversations()

    def _apply_preset(self, preset: Preset | None) -> None:
        self.chat.set_system_prompt(preset.system_prompt if preset else "")
        self.chat.update_settings({"preset": preset.name if preset else None})
        self.refresh_conversations()

    def open_conversation_settings(self) -> QDialog:
        dialog = ConversationSettingsDialog(
            self.chat.settings(),
            self.chat.system_prompt(),
            self,
            thinking_switch=self.chat.template_reasoning.enable_thinking,
            loras=self._lora_choices(),
        )
        dialog.accepted.connect(lambda: self._save_settings(dialog))
        dialog.open()
        return dialog

    def _lora_choices(self) -> list[LoraChoice] | None:
        """The installed LoRA adapters that fit the loaded model (None: none is loaded)."""
        if self.models.current is None:
            return None
        return choices_for(self.models.library, self.models.current.name, self.chat.settings())

    def open_model_manager(self) -> QDialog | None:
        if self.downloads is None:
            return None
        from app.ui.model_manager import ModelManager

        dialog = ModelManager(
            self.models, self.downloads, self.downloads.hub, self.downloads.fit, self
        )
        dialog.open()
        return dialog

    def open_preferences(self) -> QDialog | None:
        if self.preferences is None:
            return None
        from app.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(
            self.preferences.settings,
            str(self.preferences.models_dir()),
            self.models.chat_models(),
            self,
            server=self.server,
            tools=self.chat.tools.mcp_tools(),  # MCP servers' tools, to enable them
            mcp_manager=self.chat.tools.mcp_manager(),
            **self._documents_preferences(),
            kv_clear=lambda: self.chat.engine.forget_state(everything=True),
        )
        preferences = self.preferences
        dialog.accepted.connect(lambda: self._save_preferences(preferences, dialog))
        dialog.open()
        return dialog

    def _documents_preferences(self) -> dict[str, Any]:
        """The Documents tab's data: installed embedding models, collections to re-index."""
        if self.documents is None:
            return {}
        from app.docs.embedding_models import installed_embedding_models

        stale = sum(1 for s in self.documents.summaries() if self.documents.is_stale(s))
        return {
            "embedding_models": installed_embedding_models(self.models.library),
            "stale_collections": stale,
        }

    def _save_preferences(self, preferences: Preferences, dialog: SettingsDialog) -> None:
        preferences.save(dialog.apply())
        if dialog.embedding_model_changed() and self.documents is not None:
            # The Documents page marks the collections made with another model.
            self.documents.collections_changed.emit()

    def _save_settings(self, dialog: ConversationSettingsDialog) -> None:
        changes, system = dialog.values()
        self.chat.update_settings(changes)
        self.chat.set_system_prompt(system)
        name = dialog.preset_name.text().strip()
        if name and system.strip():
            self.chat.save_preset(name, system.strip())
        self._refresh_presets()

    def export_conversation(self, conversation_id: int, path: str | None = None) -> None:
        """Ask where to save (unless ``path`` is given) and export as Markdown or JSON."""
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self,
                self.tr("Export conversation"),
                "conversation.md",
                self.tr("Markdown (*.md);;JSON (*.json)"),
            )
        if path:
            self.chat.export(conversation_id, Path(path))

    def refresh_conversations(self) -> None:
        if self.sidebar.search.text().strip():
            return
        self.sidebar.show_conversations(self.chat.store.list_conversations(), self.chat.current_id)

    def refresh_models(self) -> None:
        current = self.models.current.path if self.models.current else None
        entries = self.models.pickable_models()
        self.header.set_models(entries, current)
        usable = [e for e in entries if e.error is None and e.source != REMOTE_SOURCE]
        if not usable and self.downloads is not None:
            self._show_first_run()
        elif self.first_run.isVisible():
            # The first model just arrived: leave the guide and start chatting with it.
            self.first_run.hide()
            self.chat_view.show()
            if self.models.loaded is None and not self.models.loading:
                self.load_model(usable[0])

    def _show_first_run(self) -> None:
        if self.first_run.isVisible() or self.downloads is None:
            return
        self.chat_view.hide()
        self.first_run.show()
        if self.first_run.buttons:
            return
        downloads = self.downloads
        self.first_run.download_requested.connect(downloads.download)
        downloads.progress_changed.connect(self.first_run.show_progress)
        run_in_background(
            downloads.recommended_chat_models,
            self.first_run.show_models,
            lambda exc: self.first_run.show_error(str(exc)),
        )
        # The Whisper model for this machine, with its cost (an error leaves it out).
        run_in_background(whisper_suggestion, self.first_run.show_speech, lambda exc: None)

    def _refresh_presets(self) -> None:
        self.header.set_presets(self.chat.store.list_presets(), self.chat.system_prompt())

    # -- drag and drop -------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        models = any(url.toLocalFile().lower().endswith(".gguf") for url in urls)
        if models or image_files(event.mimeData()):  # images: to the message box
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.composer.take_images(event.mimeData())
        for url in event.mimeData().urls():
            path = Path(url.toLocalFile())
            if path.suffix.lower() == ".gguf":
                entry = self.models.import_file(path)
                if entry is not None:
                    self.notice_banner.show_text(self.tr("Added %s to your models.") % entry.name)
        event.acceptProposedAction()

    # -- geometry ------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        settings = QSettings()
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        splitter = settings.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)

    def closeEvent(self, event: QCloseEvent) -> None:
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/splitter", self.splitter.saveState())
        if self.voice is not None:
            self.voice.stop()
            self.voice.wait_stopped(5.0)
        if self.server is not None:
            self.server.shutdown()
        self.chat.shutdown()
        super().closeEvent(event)
