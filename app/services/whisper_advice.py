"""The Whisper model suggested for this machine, and what each one costs.

For the first-run guide and the voice settings: widgets reach the catalog through
``app.services`` only. The figures are the catalog's measured costs (see
:mod:`app.catalog.whisper_pick`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.core.i18n import translate

if TYPE_CHECKING:
    from app.catalog.whisper_pick import WhisperPick


def suggestion(*, english_only: bool = False) -> WhisperPick:
    """The Whisper model for this machine (probes the hardware; call it off the UI thread)."""
    from app.catalog.catalog import load_catalog
    from app.catalog.whisper_pick import pick_whisper
    from app.engine.hardware import probe_hardware

    return pick_whisper(probe_hardware(), load_catalog(), english_only=english_only)


def suggestion_text(pick: WhisperPick) -> str:
    """One line for the user: the pick, why, its measured cost and how to install it."""
    from app.catalog.whisper_pick import cost_text, pull_command

    cost = cost_text(pick.model) or translate("Voice", "not measured")
    return translate(
        "Voice", "{reason} Measured cost: {cost}. Install it with '{command}'."
    ).format(reason=pick.reason, cost=cost, command=pull_command(pick.model))


def short_suggestion_text(pick: WhisperPick) -> str:
    """Two short lines for a form: the pick, its time for a question, how to install it
    (the reason and every model's cost go in a tooltip)."""
    from app.catalog.whisper_pick import QUESTION_S, pull_command

    seconds = pick.question_s
    if seconds:
        timing = translate("Voice", "about {seconds:.1f} s for a {question:.0f} s question here")
        timing = timing.format(seconds=seconds, question=QUESTION_S)
    elif pick.device == "cuda":
        timing = translate("Voice", "on the GPU")
    else:
        timing = translate("Voice", "not measured")
    return translate("Voice", "Whisper {model}: {timing}.\nInstall it with '{command}'.").format(
        model=pick.model.id, timing=timing, command=pull_command(pick.model)
    )


def cost_of(name_or_path: str) -> str:
    """The measured cost of an installed Whisper model the catalog knows, or ""."""
    from app.catalog.catalog import load_catalog
    from app.catalog.whisper_pick import catalog_entry_for, cost_text
    from app.core.errors import ConfigError

    try:
        model = catalog_entry_for(name_or_path, load_catalog())
    except ConfigError:  # an unreadable HEARTH_CATALOG: no figures, no crash
        return ""
    return cost_text(model) if model is not None else ""


def catalog_costs() -> list[tuple[str, str]]:
    """(id, cost) for every Whisper model in the catalog, lightest first."""
    from app.catalog.catalog import load_catalog
    from app.catalog.whisper_pick import cost_text

    models = sorted(load_catalog().whisper, key=lambda w: w.approx_size_mb)
    return [(w.id, cost_text(w)) for w in models]
