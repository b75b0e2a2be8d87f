"""Start ``python -m app`` the way a terminal does, whatever started the test run."""

from __future__ import annotations

import sys

# A shell starts background jobs (``cmd &``, nohup, some CI runners) with SIGINT ignored;
# children inherit that and Python then leaves it ignored, so a test pressing Ctrl+C
# would see nothing happen. A terminal's foreground job gets Python's usual handler.
_AS_IN_A_TERMINAL = (
    "import runpy, signal, sys; "
    "signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv = ['hearth', *sys.argv[1:]]; "
    "runpy.run_module('app', run_name='__main__', alter_sys=True)"
)


def hearth_command(*args: str, unbuffered: bool = False) -> list[str]:
    """argv for ``python -m app ARGS`` whose Ctrl+C works as in a terminal."""
    return [sys.executable, *(["-u"] if unbuffered else []), "-c", _AS_IN_A_TERMINAL, *args]
