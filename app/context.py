"""Kept so existing imports keep working: the app context lives in app.composition.context."""

from app.composition.context import AppContext, open_app_context

__all__ = ["AppContext", "open_app_context"]
