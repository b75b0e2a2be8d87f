"""The composition root: what every front end (window, CLI, server, voice) is built from.

Each part is built by one function, and every front end calls it:

- paths, settings, logging and the model library: ``context.open_app_context``;
- a model's load options and the default model: ``options.load_options``,
  ``options.default_model``;
- sampling defaults per front end: ``app.core.generation.sampling_defaults`` (in core, so
  the voice loop's own default is the same table);
- the conversation history: ``store.open_store``;
- the voice loop with its devices and speech models: ``voice.assemble_voice_loop``;
- the API server over a shared or own engine worker: ``app.server.assemble.assemble_server``
  (a tier above this package: it needs the HTTP stack);
- the window with its services: ``app.ui.launch.build_window`` (the Qt tier).

Submodules stay light and are imported on their own. This package ranks above the engine,
the catalog, storage and voice, and below the server, the remote client, the services,
the window and the CLI. tests/unit/test_architecture.py checks the ranks and that no
front end builds one of these parts or derives load options itself.
"""
