"""Light and dark themes; "system" follows the desktop's colour scheme."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from app.ui.icons import refresh_icons

_LIGHT = {
    "window": "#fafafa",
    "base": "#ffffff",
    "text": "#1f2328",
    "alt": "#f1f2f4",
    "accent": "#c2410c",
    "muted": "#6b7280",
    "user": "#fff4ec",
    "bot": "#ffffff",
    "border": "#e5e7eb",
    "error": "#b91c1c",
}
_DARK = {
    "window": "#1b1c1f",
    "base": "#232428",
    "text": "#e6e6e6",
    "alt": "#2b2d31",
    "accent": "#fb923c",
    "muted": "#9ca3af",
    "user": "#3a2a20",
    "bot": "#26272b",
    "border": "#3a3b40",
    "error": "#f87171",
}


def is_dark(mode: str, app: QApplication) -> bool:
    if mode == "dark":
        return True
    if mode == "light":
        return False
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication, mode: str = "system") -> bool:
    """Apply ``mode`` ("system", "light" or "dark"); returns whether it is dark."""
    dark = is_dark(mode, app)
    colors = _DARK if dark else _LIGHT
    app.setStyle("Fusion")
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor(colors["window"]))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(colors["text"]))
    palette.setColor(QPalette.ColorRole.Base, QColor(colors["base"]))
    palette.setColor(QPalette.ColorRole.AlternateBase, QColor(colors["alt"]))
    palette.setColor(QPalette.ColorRole.Text, QColor(colors["text"]))
    palette.setColor(QPalette.ColorRole.Button, QColor(colors["alt"]))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor(colors["text"]))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(colors["accent"]))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor(colors["muted"]))
    palette.setColor(QPalette.ColorRole.ToolTipBase, QColor(colors["alt"]))
    palette.setColor(QPalette.ColorRole.ToolTipText, QColor(colors["text"]))
    palette.setColor(QPalette.ColorRole.Link, QColor(colors["accent"]))
    app.setPalette(palette)
    app.setStyleSheet(
        f"""
        #sidebar {{ background: {colors["alt"]}; border-right: 1px solid {colors["border"]}; }}
        #sidebar QListWidget {{ background: transparent; border: none; }}
        #sidebar QListWidget::item {{ padding: 6px; border-radius: 6px; color: {colors["text"]}; }}
        #sidebar QListWidget::item:selected {{ background: {colors["user"]};
                                               color: {colors["text"]}; }}
        #sidebar QListWidget::item:hover {{ background: {colors["border"]}; }}
        #chatHeader {{ border-bottom: 1px solid {colors["border"]}; }}
        #planLabel, #messageFooter, #placeholder {{ color: {colors["muted"]}; }}
        QPushButton#planChip {{ color: {colors["text"]}; background: {colors["alt"]};
                                border: 1px solid {colors["border"]}; border-radius: 11px;
                                padding: 3px 10px; }}
        QPushButton#planChip:hover, QPushButton#planChip:focus {{
            border-color: {colors["accent"]}; }}
        #planPopover {{ background: {colors["base"]}; border: 1px solid {colors["border"]};
                        border-radius: 6px; }}
        #planPopoverText {{ color: {colors["text"]}; }}
        #messageHeader {{ font-weight: bold; }}
        #userMessage {{ background: {colors["user"]}; border: 1px solid {colors["border"]};
                        border-radius: 10px; }}
        #assistantMessage {{ background: {colors["bot"]}; border: 1px solid {colors["border"]};
                             border-radius: 10px; }}
        #userMessage QTextBrowser, #assistantMessage QTextBrowser {{ background: transparent; }}
        #errorBanner {{ background: #b91c1c; color: white; padding: 8px; border-radius: 6px; }}
        #noticeBanner {{ background: {colors["alt"]}; color: {colors["text"]}; padding: 6px;
                         border-radius: 6px; }}
        #sendButton {{ background: {colors["accent"]}; color: white; border-radius: 6px;
                       padding: 6px 14px; }}
        #sourcesView {{ border-top: 1px solid {colors["border"]}; }}
        #sourcesTitle {{ color: {colors["muted"]}; font-weight: bold; padding: 4px 0 2px 0; }}
        #documentsSummary, #documentsProgress, #passageStatus {{ color: {colors["muted"]}; }}
        QToolButton#sourceLink {{ color: {colors["accent"]}; border: none; padding: 2px 4px; }}
        QToolButton#sourceLink:hover {{ background: {colors["alt"]}; border-radius: 4px; }}
        QPlainTextEdit#composer {{ border: 1px solid {colors["border"]}; border-radius: 8px;
                                   padding: 6px; background: {colors["base"]}; }}
        #imageThumb {{ border: 1px solid {colors["border"]}; border-radius: 6px;
                       background: {colors["base"]}; }}
        QToolButton#thumbRemove {{ background: rgba(17, 24, 39, 190); color: white;
                                   border: none; border-radius: 9px; font-size: 10px; }}
        QToolButton#thumbRemove:hover {{ background: #b91c1c; }}
        #imageStatus, #viewerCaption {{ color: {colors["muted"]}; }}
        #imageStatus[error="true"] {{ color: {colors["error"]}; }}
        #visionOfferText {{ background: {colors["alt"]}; color: {colors["text"]}; padding: 6px;
                            border-radius: 6px; }}
        """
    )
    refresh_icons()  # the icons are drawn in the palette's text colour
    return dark
