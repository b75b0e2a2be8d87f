"""Runs the real Hearth window (offscreen) with the real engine and starter model, sends a
message, and reports on stdout how much of the streaming reply is safely on disk.

Used by test_kill_app.py, which kill -9s this process mid-reply. Prints:
  READY <conversation id> <message id> <chars flushed>   whenever a flush completed
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.context import open_app_context
from app.engine.client import EngineClient
from app.engine.protocol import ModelLoaded
from app.ui.launch import build_window, configure_application, default_chat_model


def main() -> int:
    app = QApplication(sys.argv[:1])
    context = open_app_context()
    dark = configure_application(app, context)
    built = build_window(context, dark=dark, backend_factory=EngineClient)
    built.window.show()
    chat, store = built.chat, built.store
    chat.new_conversation()
    chat.update_settings({"max_tokens": 2000, "temperature": 0.8, "n_ctx": 4096, "seed": 9})
    entry = default_chat_model(context, built.models)
    assert entry is not None
    streaming: dict[str, int] = {}

    def on_loaded(_event: ModelLoaded) -> None:
        chat.send("Write a very long story about a brave little ship and its crew.")

    def on_delta(message_id: int, _text: str) -> None:
        streaming["id"] = message_id

    def report() -> None:
        # Only what the store has written counts: unflushed text may be lost on a kill.
        message_id = streaming.get("id")
        if message_id is None or store.unflushed_chars:
            return
        flushed = store.get_message(message_id).content
        print(f"READY {chat.current_id} {message_id} {len(flushed)}", flush=True)

    built.models.model_ready.connect(on_loaded)
    chat.reply_delta.connect(on_delta)
    timer = QTimer()
    timer.timeout.connect(report)
    timer.start(50)
    built.window.load_model(entry)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
