"""jsonschema's reason for refusing a tool's arguments, as a translatable sentence.

jsonschema words its reasons in English (``'city' is a required property``). The tool
card shows them in the window's language, while the model keeps reading jsonschema's own
English: each sentence here is spelt exactly as jsonschema spells it, and a reason this
module does not know, or one a jsonschema release words otherwise, is kept as it came.
"""

from __future__ import annotations

from typing import Any

from app.core.i18n import Sentence, english, translate


def _types(value: Any) -> str:
    """jsonschema's way of naming the expected types: ``'string', 'null'``."""
    kinds = value if isinstance(value, list) else [value]
    return ", ".join(repr(kind) for kind in kinds)


def _made(error: Any) -> Sentence | None:
    """The sentence for one validation error of a known kind, else None."""
    kind, limit, value = error.validator, error.validator_value, error.instance
    if kind == "required" and isinstance(value, dict):
        missing = [name for name in limit if name not in value]
        if missing:
            return translate("Tools", "{name!r} is a required property").format(name=missing[0])
    if kind == "type":
        return translate("Tools", "{value!r} is not of type {types}").format(
            value=value, types=_types(limit)
        )
    if kind == "enum":
        return translate("Tools", "{value!r} is not one of {choices!r}").format(
            value=value, choices=limit
        )
    if kind == "const":
        return translate("Tools", "{const!r} was expected").format(const=limit)
    if kind == "pattern":
        return translate("Tools", "{value!r} does not match {pattern!r}").format(
            value=value, pattern=limit
        )
    if kind == "minimum":
        return translate("Tools", "{value!r} is less than the minimum of {limit!r}").format(
            value=value, limit=limit
        )
    if kind == "maximum":
        return translate("Tools", "{value!r} is greater than the maximum of {limit!r}").format(
            value=value, limit=limit
        )
    if kind == "additionalProperties" and isinstance(value, dict):
        known = set(error.schema.get("properties", {}))
        extras = [name for name in value if name not in known]
        if len(extras) == 1:
            said = translate(
                "Tools", "Additional properties are not allowed ({extras} was unexpected)"
            )
        else:
            said = translate(
                "Tools", "Additional properties are not allowed ({extras} were unexpected)"
            )
        return said.format(extras=", ".join(repr(name) for name in extras))
    return None


def reason(error: Any) -> str:
    """Why ``error`` (a ``jsonschema.ValidationError``) refused the arguments: a Sentence
    whose English is jsonschema's message, or that message itself."""
    made = _made(error)
    if made is None or english(made) != error.message:
        return str(error.message)
    return made
