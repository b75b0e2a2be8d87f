"""Hearth: a private, offline AI assistant.

The package is split by domain: ``core`` (plain types, errors, paths, settings),
``engine`` (llama.cpp in its own process, templates, planner), ``catalog`` (model
files and the library), ``cli`` (headless commands). Nothing here imports Qt or the
heavy inference libraries at import time.
"""

__version__ = "0.1.0"
