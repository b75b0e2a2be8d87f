"""Build and show the window: the composition root of the desktop app."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QCoreApplication,
    QLibraryInfo,
    QLocale,
    QSettings,
    QTimer,
    QTranslator,
)
from PySide6.QtWidgets import QApplication

from app.catalog.library import ModelEntry
from app.composition.context import AppContext, open_app_context
from app.composition.options import default_model, load_options
from app.composition.store import open_store
from app.core.errors import HearthError
from app.core.i18n import install as install_translator
from app.core.i18n import localize
from app.core.secrets import secret_store
from app.services.chat_service import ChatService
from app.services.document_service import DocumentService
from app.services.download_service import DownloadService
from app.services.engine_service import EngineService
from app.services.model_service import ModelService
from app.services.preferences import Preferences
from app.services.server_service import ServerService, ServerSettings
from app.services.voice_service import VoiceService
from app.storage import default_database_path
from app.ui.background import Background
from app.ui.main_window import MainWindow
from app.ui.resources import asset_path
from app.ui.theme import apply_theme

if TYPE_CHECKING:
    from app.storage import ConversationStore

log = logging.getLogger(__name__)


@dataclass
class Window:
    """The window and the services behind it (tests reach the services through this)."""

    window: MainWindow
    chat: ChatService
    models: ModelService
    engine: EngineService
    store: ConversationStore
    downloads: DownloadService
    documents: DocumentService
    background: Background | None = None  # the tray, quick ask, notifications

    def close(self) -> None:
        if self.background is not None:
            self.background.quitting = True  # closing for real, not to the tray
        self.window.close()
        self.documents.shutdown()
        self.engine.shutdown()
        self.downloads.shutdown()
        self.store.close()


def configure_application(app: QApplication, context: AppContext) -> bool:
    """Names, settings location, translations and theme; returns whether it is dark."""
    app.setApplicationName("Hearth")
    app.setOrganizationName("Hearth")
    app.setDesktopFileName("hearth")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(context.paths.config_dir)
    )
    language = str(context.settings.extra.get("language") or QLocale.system().name())
    translation = asset_path("translations", f"hearth_{language}.qm")
    if translation is not None:
        translator = QTranslator(app)
        if translator.load(str(translation)):
            app.installTranslator(translator)
            # The sentences made below the widgets (plan, errors, notices) too.
            install_translator(QCoreApplication.translate)
            # Qt's own words (OK, Cancel, a text box's menu) in the same language.
            qt_words = QTranslator(app)
            folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
            if qt_words.load(f"qtbase_{language}", folder):
                app.installTranslator(qt_words)
    return apply_theme(app, str(context.settings.extra.get("theme") or "system"))


def build_window(
    context: AppContext, *, dark: bool, backend_factory: Any = None, hub: Any = None
) -> Window:
    store, damaged = open_store(context.paths)
    engine = EngineService(backend_factory)
    chat = ChatService(store, engine)
    app = QApplication.instance()
    preferences = Preferences(
        context.paths,
        context.settings,
        apply_theme=(lambda mode: apply_theme(app, mode))
        if isinstance(app, QApplication)
        else None,
    )
    # Every load reads the settings as they are then: Preferences replaces them on save.
    models = ModelService(context.library, engine, settings=lambda: preferences.settings)
    downloads = DownloadService(
        context.library, context.models_dir, hub=hub, cache_dir=context.paths.cache_dir
    )
    voice = VoiceService(
        engine, context.library, lambda: dict(preferences.settings.extra.get("voice") or {})
    )
    # The documents' index lives in the same database; indexing runs in the background.
    # The API server reads the same index through the same embedding process.
    documents = DocumentService.open(default_database_path(context.paths))
    server = ServerService(
        context.library,
        ServerSettings.from_extra(context.settings.extra, secret_store(context.paths)),
        engine=engine.local,  # the window's EngineClient: one worker for both
        default_model=context.settings.default_model,
        load_options=lambda entry: load_options(entry, preferences.settings),
        documents=lambda: documents.documents,
        image_folders=lambda: preferences.settings.api_image_folders,
    )
    models.remote = server
    engine.model_loaded.connect(server.note_model_loaded)

    def settings_saved(settings: Any) -> None:
        running = server.running
        server.settings = ServerSettings.from_extra(settings.extra, secret_store(context.paths))
        server.settings.enabled = running  # the tab's switch already started or stopped it
        models.models_changed.emit()  # the remote endpoint's model may have changed

    preferences.changed.connect(settings_saved)
    window = MainWindow(
        chat,
        models,
        dark=dark,
        downloads=downloads,
        preferences=preferences,
        voice=voice,
        server=server,
        documents=documents,
    )
    if server.settings.enabled:
        server.start()  # it was on when Hearth last closed
    conversations = store.list_conversations(limit=1)
    chat.select(conversations[0].id if conversations else 0)
    # Settings that were damaged and replaced by defaults; read before the translator was
    # installed, so made again in the window's language.
    notices = [str(localize(notice)) for notice in context.notices]
    if damaged is not None:  # what opening the history found: a loss is shown as an error
        if damaged.severe:
            window.show_error(str(damaged))
        else:
            notices.insert(0, str(damaged))
    if notices:
        window.notice_banner.show_text(" ".join(notices))
    background = Background(window)  # the tray where the desktop has one, quick ask
    return Window(window, chat, models, engine, store, downloads, documents, background)


def default_chat_model(context: AppContext, models: ModelService) -> ModelEntry | None:
    """The model the window loads at start (None: none is installed)."""
    try:
        return default_model(models.library, context.settings)
    except HearthError:
        return None


def launch_window(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    context = open_app_context(verbose=getattr(args, "verbose", False))
    dark = configure_application(app, context)
    built = build_window(context, dark=dark)
    background = built.background
    if getattr(args, "background", False) and background and background.tray is not None:
        background.hide_to_tray()  # started at login: in the tray until asked for
    else:
        built.window.show()
    log.info("window shown %.3f s after start-up", time.perf_counter() - started)
    if os.environ.get("HEARTH_STARTUP_REPORT"):
        # For the start-up benchmark: printed once the first frame has been painted.
        QTimer.singleShot(0, lambda: print("HEARTH_WINDOW_SHOWN", flush=True))
    entry = default_chat_model(context, built.models)
    # Downloads a previous run left unfinished carry on (partial files + HTTP Range).
    QTimer.singleShot(1000, built.downloads.resume_incomplete)
    # Files changed while Hearth was closed are indexed, then folders are followed.
    QTimer.singleShot(2000, built.documents.start)
    if getattr(args, "no_model", False):
        entry = None
    elif entry is not None:
        # After the first paint: the engine process starts while the window is usable.
        QTimer.singleShot(0, lambda: built.window.load_model(entry))
        if built.window.isVisible():  # once ever: the model answering, a better one, the mic
            from app.ui.first_run import show_welcome

            QTimer.singleShot(0, lambda: show_welcome(built.window))
    code = app.exec()
    built.documents.shutdown()
    built.engine.shutdown()
    built.downloads.shutdown()
    built.store.close()
    return int(code)
