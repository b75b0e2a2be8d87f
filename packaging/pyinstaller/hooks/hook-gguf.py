"""PyInstaller hook for gguf: Hearth reads ``gguf/constants.py`` as a file (see
``app.catalog.gguf_meta.gguf_constants``), so the package's sources travel as data too."""

from __future__ import annotations

from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("gguf", include_py_files=True)
