"""PyInstaller hook for piper-tts: the espeak-ng data folder and the espeakbridge module.

Only the runtime is kept: training code, the HTTP server and the optional phonemizers
for Chinese, Japanese, Hebrew and Thai (which need packages Hearth does not install).
"""

from __future__ import annotations

from PyInstaller.utils.hooks import collect_data_files, collect_dynamic_libs

datas = collect_data_files("piper", excludes=["train/**", "img/**", "templates/**"])
binaries = collect_dynamic_libs("piper")
hiddenimports = [
    "piper.voice",
    "piper.config",
    "piper.phonemize_espeak",
    "piper.phoneme_ids",
    "piper.espeakbridge",
]
excludedimports = ["piper.train", "piper.http_server"]
