"""Hearth as a local OpenAI-compatible API server (``hearth serve``)."""
