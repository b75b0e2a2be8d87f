"""Render the app icon (assets/icons/hearth.svg) to PNGs in the freedesktop sizes.

    .venv/bin/python packaging/render_icons.py

Writes ``assets/icons/hicolor/<N>x<N>/apps/hearth.png`` for N in 16..512 (the layout of
the hicolor icon theme, so install.sh copies the tree as it is) and a copy of the SVG
under ``scalable/apps``. The PNGs are committed; run this again after editing the SVG.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "assets" / "icons" / "hearth.svg"
THEME = ROOT / "assets" / "icons" / "hicolor"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def render(svg: Path, theme: Path, sizes: tuple[int, ...] = SIZES) -> list[Path]:
    """Render ``svg`` into ``theme``/<N>x<N>/apps/hearth.png; returns the files written."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not a valid SVG")
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        target = theme / f"{size}x{size}" / "apps" / "hearth.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(target)):  # PNG, from the suffix
            raise SystemExit(f"could not write {target}")
        written.append(target)
    scalable = theme / "scalable" / "apps" / "hearth.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable)
    written.append(scalable)
    return written


def main() -> None:
    """Render all sizes and list the files."""
    for path in render(SVG, THEME):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
