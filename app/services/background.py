"""Run plain-Python work off the GUI thread and get the result back on it.

``run_in_background(fn, on_done, on_error)`` is the one way Hearth's services do slow
work (Hub requests, file scans): the window never freezes, and callbacks run on the
GUI thread, where touching widgets is safe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.core.errors import HearthError
from app.core.i18n import translate

_alive: set[_Relay] = set()  # keeps relays alive until their result has been delivered


class _Relay(QObject):
    done = Signal(object)
    failed = Signal(object)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.fn = fn
        self.relay = relay

    def run(self) -> None:
        try:
            result = self.fn()
        except HearthError as exc:
            self.relay.failed.emit(exc)
        except Exception as exc:  # a bug: report it as an error instead of losing it
            self.relay.failed.emit(
                HearthError(
                    translate(
                        "Errors",
                        "Something went wrong: {error}",
                    ).format(error=exc)
                )
            )
        else:
            self.relay.done.emit(result)


def run_in_background(
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[HearthError], None],
) -> None:
    """Call ``fn()`` on a pool thread, then ``on_done(result)`` or ``on_error(exc)`` on the
    GUI thread."""
    relay = _Relay()  # created on the calling (GUI) thread, so its slots run there
    _alive.add(relay)

    def finish(callback: Callable[[Any], None], value: Any) -> None:
        _alive.discard(relay)
        callback(value)

    relay.done.connect(lambda value: finish(on_done, value))
    relay.failed.connect(lambda exc: finish(on_error, exc))
    QThreadPool.globalInstance().start(_Task(fn, relay))
