"""PyInstaller hook for faster-whisper: the Silero VAD model in faster_whisper/assets."""

from __future__ import annotations

from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("faster_whisper")
hiddenimports = ["ctranslate2", "tokenizers", "av"]
