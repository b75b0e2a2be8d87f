"""The composition root: what every front end (window, CLI, server, voice) is built from.

Submodules stay light and are imported on their own: ``context`` (paths, settings,
library), ``options`` (model load options, the default model), ``sampling`` (sampling
defaults), ``store`` (the conversation history). This package ranks above the engine,
the catalog, storage and voice, and below the server, the remote client, the services,
the window and the CLI (tests/unit/test_architecture.py).
"""
