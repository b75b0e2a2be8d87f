"""Prompts for the prompt-lookup benchmark, one per kind of reply: a code edit that
returns the whole function, a variable renamed in a snippet, type hints added to a
function, a paragraph rewritten, a paragraph summarised, and a free question (nothing to
copy)."""

from __future__ import annotations

_LINES = "\n".join(
    f"    print('total so far', x, {i})" if i % 4 == 0 else f"    x = x + values[{i}] * {i}"
    for i in range(40)
)
_FUNCTION = """def parse_config(path):
    settings = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, value = line.split("=", 1)
            settings[key.strip()] = value.strip()
    return settings"""
_PARAGRAPH = (
    "The lighthouse stood on the northern cape for more than two hundred years. Its keepers "
    "climbed one hundred and twelve steps every evening to light the lamp, and in winter "
    "storms they stayed awake all night to keep the glass clear of salt. When the light was "
    "finally automated in 1987, the last keeper moved to the village below, where he still "
    "tells visitors how the beam could be seen forty kilometres out at sea."
)

# (kind, prompt, goal: the tokens/s ratio issue 17 asks for, or None)
PROMPTS: list[tuple[str, str, float | None]] = [
    (
        "code edit",
        "Rename the variable x to count in this function. Reply with the whole function "
        "and nothing else.\n\n```python\ndef add_all(values):\n    x = 0\n"
        + _LINES
        + "\n    return x\n```",
        1.5,
    ),
    (
        "rename",
        "Rename the variable `settings` to `options` in this code and show the code.\n\n"
        "```python\n" + _FUNCTION + "\n```",
        None,
    ),
    (
        "type hints",  # written after the lookup's edit-following: measured, not tuned on
        "Add type hints to this function and return the whole function.\n\n```python\n"
        + _FUNCTION
        + "\n```",
        None,
    ),
    (
        "rewrite",
        "Fix any mistakes and rewrite this paragraph in the past tense, keeping every "
        "sentence:\n\n" + _PARAGRAPH,
        None,
    ),
    ("summary", "Summarise this paragraph in two sentences:\n\n" + _PARAGRAPH, None),
    ("free question", "Explain how a bicycle works, step by step.", 0.95),
]
