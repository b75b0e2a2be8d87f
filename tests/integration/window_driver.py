"""The real Hearth window (offscreen, real engine) on one model, for
test_worker_dies_with_parent: ``python -m tests.integration.window_driver MODEL MESSAGE``.

Imports MODEL into the library, loads it, sends MESSAGE once it is loaded. Prints
``SENT`` right after sending and ``DELTA`` at the first piece of the reply.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from app.context import open_app_context
from app.engine.client import EngineClient
from app.engine.protocol import ModelLoaded
from app.ui.launch import build_window, configure_application


def main() -> int:
    model, message = sys.argv[1:3]
    app = QApplication(sys.argv[:1])
    context = open_app_context()
    dark = configure_application(app, context)
    built = build_window(context, dark=dark, backend_factory=EngineClient)
    built.window.show()
    chat = built.chat
    chat.new_conversation()
    chat.update_settings({"max_tokens": 2000, "temperature": 0.8, "n_ctx": 2048, "seed": 5})
    entry = built.models.import_file(Path(model))
    assert entry is not None, f"{model} could not be imported"
    said: set[str] = set()

    def say_once(word: str) -> None:
        if word not in said:
            said.add(word)
            print(word, flush=True)

    def on_loaded(_event: ModelLoaded) -> None:
        if "SENT" not in said:
            chat.send(message)
            say_once("SENT")

    built.models.model_ready.connect(on_loaded)
    chat.reply_delta.connect(lambda _message_id, _text: say_once("DELTA"))
    built.window.load_model(entry)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
