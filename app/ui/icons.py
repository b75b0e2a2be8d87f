"""The window's icons: the one place that names them.

Phosphor (MIT, maintained by phosphor-icons) through qtawesome (MIT, maintained by the
Spyder team), which bundles the font, so the icons work offline and in a frozen bundle.
They are drawn in the palette's text colour, so they follow the light and dark themes:
``apply_icon`` remembers which icon a button carries and ``refresh_icons`` redraws them
after the theme changes.
"""

from __future__ import annotations

import os

from PySide6.QtGui import QIcon, QPalette
from PySide6.QtWidgets import QAbstractButton, QApplication, QWidget

# qtawesome (imported when the first icon is drawn) reaches Qt through qtpy: make it use
# the binding Hearth uses, even where another one is installed too.
os.environ.setdefault("QT_API", "pyside6")

# What each action looks like. Phosphor's regular weight: thin outlines, like Lucide.
NAMES: dict[str, str] = {
    "new_chat": "ph.note-pencil",
    "send": "ph.paper-plane-right",
    "stop": "ph.stop-circle",
    "talk": "ph.microphone",
    "attach": "ph.paperclip",
    "settings": "ph.gear-six",
    "chat_settings": "ph.sliders-horizontal",
    "models": "ph.cube",
    "documents": "ph.files",
    "search": "ph.magnifying-glass",
    "pin": "ph.push-pin",
    "keyboard": "ph.keyboard",
    "cpu": "ph.cpu",
    "gpu": "ph.lightning",
    "import": "ph.download-simple",
    "folder": "ph.folder-open",
    "delete": "ph.trash",
    "close": "ph.x",
    "copy": "ph.copy",
}
_ROLE = "hearthIcon"  # the dynamic property that remembers a button's icon
_COLOUR = "hearthIconColour"  # a fixed colour (white on the accent-coloured Send)


def _palette_colour(role: QPalette.ColorRole, group: QPalette.ColorGroup) -> str:
    app = QApplication.instance()
    palette = app.palette() if isinstance(app, QApplication) else QPalette()
    return str(palette.color(group, role).name())


def icon(role: str, colour: str | None = None) -> QIcon:
    """The icon for ``role`` (a key of NAMES), in ``colour`` or the theme's text colour;
    greyed when its button is disabled."""
    import qtawesome

    text = QPalette.ColorRole.ButtonText
    normal = colour or _palette_colour(text, QPalette.ColorGroup.Active)
    disabled = _palette_colour(text, QPalette.ColorGroup.Disabled)
    result = qtawesome.icon(NAMES[role], color=normal, color_disabled=disabled)
    assert isinstance(result, QIcon)
    return result


def apply_icon(button: QAbstractButton, role: str, colour: str | None = None) -> None:
    """Give ``button`` the icon for ``role``; ``refresh_icons`` redraws it later."""
    button.setProperty(_ROLE, role)
    button.setProperty(_COLOUR, colour or "")
    button.setIcon(icon(role, colour))


def refresh_icons(root: QWidget | None = None) -> int:
    """Redraw the icons under ``root`` (every window when None) in the current palette;
    returns how many were redrawn."""
    if root is not None:
        roots = [root]
    else:
        app = QApplication.instance()
        roots = list(app.topLevelWidgets()) if isinstance(app, QApplication) else []
    count = 0
    for top in roots:
        for button in [top, *top.findChildren(QAbstractButton)]:
            role = button.property(_ROLE)
            if isinstance(button, QAbstractButton) and isinstance(role, str) and role:
                colour = button.property(_COLOUR)
                button.setIcon(icon(role, colour if isinstance(colour, str) and colour else None))
                count += 1
    return count
