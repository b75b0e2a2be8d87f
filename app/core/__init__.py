"""Plain-Python foundations shared by every other part of Hearth (no Qt, no llama.cpp)."""
