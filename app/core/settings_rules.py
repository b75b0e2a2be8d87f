"""What each setting may hold, and a check that drops the values that break the rules.

The settings file is JSON a person may edit: a value of the wrong type or far out of
range must cost that one setting, not the app. :func:`check` removes each bad value
(its default then applies) and names it in one sentence. The groups kept in
``Settings.extra`` (voice, server, remote endpoint) are checked key by key; keys no rule
knows are kept, since a newer Hearth may have written them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.core.i18n import translate

_LANGUAGE = re.compile(r"[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})?")


@dataclass(frozen=True)
class Rule:
    """``accepts`` a value or not; ``what`` completes "should be …"."""

    what: str
    accepts: Callable[[Any], bool]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def whole(low: int, high: int, *, optional: bool = False) -> Rule:
    what = f"a whole number from {low} to {high}" + (" or null (automatic)" if optional else "")
    return Rule(what, lambda v: (optional and v is None) or (_is_int(v) and low <= v <= high))


def number(low: float, high: float) -> Rule:
    def accepts(value: Any) -> bool:
        return (
            (_is_int(value) or isinstance(value, float))
            and math.isfinite(value)
            and low <= value <= high
        )

    return Rule(f"a number from {low:g} to {high:g}", accepts)


def text(*, optional: bool = False) -> Rule:
    what = "a text" + (" or null" if optional else "")
    return Rule(what, lambda v: isinstance(v, str) or (optional and v is None))


def flag() -> Rule:
    return Rule("true or false", lambda v: isinstance(v, bool))


def choice(*values: str) -> Rule:
    return Rule("one of " + ", ".join(repr(v) for v in values), lambda v: v in values)


def text_list() -> Rule:
    return Rule(
        "a list of texts", lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v)
    )


def text_map() -> Rule:
    return Rule(
        "an object whose values are texts",
        lambda v: isinstance(v, dict) and all(isinstance(i, str) for i in v.values()),
    )


def language() -> Rule:
    return Rule(
        "a language code such as 'en' or 'zh_CN', or null",
        lambda v: v is None or v == "" or (isinstance(v, str) and bool(_LANGUAGE.fullmatch(v))),
    )


def gpu_layers() -> Rule:
    def accepts(value: Any) -> bool:
        if value == "auto":
            return True
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        return _is_int(value) and value >= -1

    return Rule("'auto' or a number of layers (-1 for all)", accepts)


def cpu_moe() -> Rule:
    def accepts(value: Any) -> bool:
        if value == "auto":
            return True
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        return _is_int(value) and value >= 0

    return Rule("'auto' or a number of layers whose experts stay in RAM", accepts)


# The fields of app.core.settings.Settings.
FIELDS: dict[str, Rule] = {
    "models_dir": text(optional=True),
    "extra_model_dirs": text_list(),
    "default_model": text(optional=True),
    "n_threads": whole(1, 1024, optional=True),
    # 128 tokens hold little more than a question; 4 Mi is past every model's own limit.
    "n_ctx": whole(128, 4 * 1024 * 1024),
    "gpu_layers": gpu_layers(),
    "template_overrides": text_map(),
    "api_image_folders": text_list(),
    "kv_type": choice("f16", "q8_0", "q4_0"),
    "kv_state_mb": whole(0, 1024 * 1024),
    "cpu_moe": cpu_moe(),
    "flash_attn": choice("auto", "on", "off"),
}

# Single values kept in Settings.extra.
EXTRA: dict[str, Rule] = {
    "theme": choice("system", "light", "dark"),
    "language": language(),  # names a translation file: nothing path-like gets through
}

# Groups kept in Settings.extra: app.voice.session.VoiceSettings (which clamps the same
# ranges again), app.services.server_service.ServerSettings and the documents' choices.
GROUPS: dict[str, dict[str, Rule]] = {
    "voice": {
        "input_device": text(optional=True),
        "output_device": text(optional=True),
        "language": text(optional=True),
        "barge_in": flag(),
        "push_to_talk": flag(),
        "silence_ms": whole(200, 3000),
        "quick_end": flag(),
        "speed": number(0.5, 2.0),
        "stt_model": text(optional=True),
        "voice": text(optional=True),
        "voices": text_map(),
        "correction_grace_s": number(0, 10),
        "wait_for_final": flag(),
        "answer_unsure_drafts": flag(),
        "final_takes": whole(1, 5, optional=True),  # app.core.ranges.FINAL_TAKES
        "chinese_script": Rule(
            "'simplified', 'traditional' or null",
            lambda v: v is None or v in ("simplified", "traditional"),
        ),
    },
    "server": {
        "enabled": flag(),
        "host": text(),
        "port": whole(1, 65535),
        "cors": flag(),
        "origins": text(),
        "hosts": text(),
        "api_key": text(),
    },
    "remote": {
        "url": text(),
        "model": text(),
        "api_key": text(),
    },
    # app.docs.embedding_models: the embedding model new indexes use (null: the starter).
    "documents": {
        "embedding_model": text(optional=True),
        "embedding_path": text(optional=True),
        "embedding_models": text_map(),
    },
    # app.ui.background: closing the window leaves Hearth in the tray (absent: not asked
    # yet), and Hearth starts at login (app.core.autostart).
    "tray": {
        "close_to_tray": flag(),
        "start_at_login": flag(),
    },
}


def _shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _problem(name: str, value: Any, what: str, default: Any) -> str:
    if default is None:
        said = translate(
            "Errors",
            "The setting {name} is {value}, which is not {what}; Hearth uses its default instead.",
        )
    else:
        said = translate(
            "Errors",
            "The setting {name} is {value}, which is not {what}; Hearth uses the default "
            "({default}) instead.",
        )
    return said.format(name=name, value=_shown(value), what=what, default=_shown(default))


def check(raw: Mapping[str, Any], defaults: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``raw`` without the values that break a rule, and one sentence for each of those.

    ``defaults`` gives the value used instead of a dropped top-level field (for the
    sentence only: the caller's dataclass supplies it).
    """
    clean = dict(raw)
    problems: list[str] = []
    for name, rule in (FIELDS | EXTRA).items():
        if name in clean and not rule.accepts(clean[name]):
            problems.append(_problem(name, clean.pop(name), rule.what, defaults.get(name)))
    for group, rules in GROUPS.items():
        if group not in clean or clean[group] is None:
            continue
        values = clean[group]
        if not isinstance(values, dict):
            problems.append(_problem(group, clean.pop(group), "a group of settings", None))
            continue
        kept = dict(values)
        for key, rule in rules.items():
            if key in kept and not rule.accepts(kept[key]):
                problems.append(_problem(f"{group}.{key}", kept.pop(key), rule.what, None))
        clean[group] = kept
    return clean, problems
