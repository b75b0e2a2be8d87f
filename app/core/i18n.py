"""Translatable sentences made below the widgets (plain Python, no Qt).

A sentence a user may read, made in the engine, the catalog, the voice loop or a
service, is written ``translate("Context", "English text with {name}").format(name=...)``:
translate first, then fill in, never translate an f-string's result. ``translate`` is
what pyside6-lupdate extracts (a call named ``translate`` with a context and a text), so
the sentences land in ``assets/translations/*.ts`` beside the window's.

Nothing is translated until the window installs a translator (:func:`install`, with
``QCoreApplication.translate``); the CLI and the server never do, so they stay English.

The engine worker is another process without a translator: its sentences cross the pipe
in English. Each is a :class:`Sentence`, a ``str`` that remembers its context, source
text and arguments, so the window makes it again in its own language with
:func:`localize` where it shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Translator = Callable[[str, str], str]


def _identity(context: str, text: str) -> str:
    return text


# The one installed translator (a list, so installing needs no ``global``).
_translator: list[Translator] = [_identity]


def install(translator: Translator | None) -> None:
    """Translate every later sentence with ``translator(context, text)``; None: English."""
    _translator[0] = translator or _identity


def installed() -> bool:
    """Whether a translator is installed (the window's, once a translation loads)."""
    return _translator[0] is not _identity


class Sentence(str):
    """A translated sentence that can be made again in another language: the text as
    shown, plus the ``context``, English ``source`` and ``format`` arguments it came from.
    It pickles whole (the engine worker's messages cross a pipe) and ``str()`` keeps it."""

    __slots__ = ("args", "context", "kwargs", "source")
    context: str
    source: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def __new__(
        cls,
        text: str,
        context: str = "",
        source: str | None = None,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Sentence:
        made = super().__new__(cls, text)
        made.context = context
        # None: the text is its own source; "" is a source too (join("", ...)'s separator).
        made.source = str.__str__(text) if source is None else source
        made.args = args
        made.kwargs = dict(kwargs or {})
        return made

    def __str__(self) -> str:
        # str(exception) and f"{exception}" keep the Sentence (and so its source).
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Sentence, (str.__str__(self), self.context, self.source, self.args, self.kwargs))

    def format(self, *args: Any, **kwargs: Any) -> Sentence:
        """Fill in the translated text; the arguments are kept for :func:`localize`. A
        translation whose placeholders do not match falls back to the English."""
        try:
            text = str.format(self, *args, **kwargs)
        except (IndexError, KeyError, ValueError):
            text = str.format(self.source, *args, **kwargs)
        return Sentence(text, self.context, self.source, args, kwargs)


def translate(context: str, text: str) -> Sentence:
    """``text`` in the installed language (English without one), to ``.format()`` after."""
    return Sentence(_translator[0](context, text), context, text)


_JOINED = "\x00joined"  # the context of a join(): never looked up


def join(separator: str, parts: Iterable[str]) -> Sentence:
    """``separator.join(parts)`` that :func:`localize` makes again part by part (notices
    from several places said as one)."""
    parts = tuple(parts)
    return Sentence(separator.join(parts), _JOINED, separator, parts)


def localize(text: Any) -> Any:
    """A :class:`Sentence` (arguments too) made again in the installed language, e.g. one
    that came from the engine worker in English; anything else as it is."""
    return _remake(text, _translator[0])


def english(text: Any) -> Any:
    """A :class:`Sentence` made again in English (to read its words in code, or for a log);
    anything else as it is."""
    return _remake(text, _identity)


def _remake(text: Any, translator: Translator) -> Any:
    if not isinstance(text, Sentence) or not text.context:
        return text
    if text.context == _JOINED:
        return join(text.source, (_remake(part, translator) for part in text.args))
    args = tuple(_remake(arg, translator) for arg in text.args)
    kwargs = {key: _remake(value, translator) for key, value in text.kwargs.items()}
    made = Sentence(translator(text.context, text.source), text.context, text.source)
    if not args and not kwargs:
        return made
    try:
        return made.format(*args, **kwargs)
    except (IndexError, KeyError, ValueError):  # a translation that lost a placeholder
        return text
