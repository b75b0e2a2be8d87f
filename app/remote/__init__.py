"""Remote mode: conversations on another machine's OpenAI-compatible endpoint."""
