"""Which JSON-schema keywords a reply can be held to while it is generated.

Structured output is enforced by a llama.cpp grammar made from the schema
(llama-cpp-python's converter). The converter covers types, properties, required,
additionalProperties, items/prefixItems with minItems/maxItems, enum, const, $ref,
anyOf/oneOf/allOf, pattern, minLength/maxLength and the date, time, date-time and uuid
formats. Other validation keywords would be skipped in silence, and a reply could break
them (``"maximum": 30`` gave 35), so a schema using one is refused, naming it. Other
formats ("email", "uri") are left as annotations, as JSON Schema itself treats them.
"""

from __future__ import annotations

from typing import Any

from app.core.errors import ConfigError
from app.core.i18n import translate

# Validation keywords a grammar cannot hold (annotations such as title, description,
# default or examples are fine: they constrain nothing).
UNENFORCED = frozenset(
    {
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "uniqueItems",
        "contains",
        "minContains",
        "maxContains",
        "minProperties",
        "maxProperties",
        "patternProperties",
        "propertyNames",
        "dependentRequired",
        "dependentSchemas",
        "dependencies",
        "not",
        "if",
        "then",
        "else",
        "unevaluatedProperties",
        "unevaluatedItems",
    }
)
# Keywords whose value is a schema, a list of schemas, or a name → schema map.
_ONE = ("items", "additionalProperties", "additionalItems")
_MANY = ("anyOf", "oneOf", "allOf", "prefixItems")
_NAMED = ("properties", "$defs", "definitions")


def unenforced_keywords(schema: Any, where: str = "") -> list[str]:
    """``["maximum at properties.age", ...]``: what in ``schema`` a grammar cannot hold."""
    if not isinstance(schema, dict):
        return []
    found = [f"{key!r} at {where or 'the top'}" for key in sorted(UNENFORCED & set(schema))]
    prefix = f"{where}." if where else ""
    for key in _ONE:
        found += unenforced_keywords(schema.get(key), f"{prefix}{key}")
    for key in _MANY:
        parts = schema.get(key)
        if isinstance(parts, list):
            for index, part in enumerate(parts):
                found += unenforced_keywords(part, f"{prefix}{key}[{index}]")
    for key in _NAMED:
        named = schema.get(key)
        if isinstance(named, dict):
            for name, part in named.items():
                found += unenforced_keywords(part, f"{prefix}{key}.{name}")
    return found


def check_enforceable(schema: Any) -> None:
    """Raise ConfigError naming the keywords of ``schema`` a reply cannot be held to."""
    found = unenforced_keywords(schema)
    if found:
        raise ConfigError(
            translate(
                "Errors",
                "The JSON schema uses {found}, which Hearth cannot enforce while the "
                "reply is written; remove it (or use enum or pattern instead) and check "
                "the value in your code.",
            ).format(found=", ".join(found))
        )
