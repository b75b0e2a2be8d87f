"""Hub model cards for the Discover tab (app.catalog.model_card), for the widgets."""

from __future__ import annotations

from app.catalog.model_card import CARDS, Cancelled, CardCache, ModelCard

__all__ = ["CARDS", "Cancelled", "CardCache", "ModelCard"]
