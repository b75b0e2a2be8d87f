"""Entry script of the frozen Hearth bundle (PyInstaller runs this as ``__main__``).

It only hands over to :func:`app.__main__.main`, whose first call is
``multiprocessing.freeze_support()``: the engine worker is started with the *spawn*
method, which in a frozen app re-runs this executable with ``--multiprocessing-fork``
(PyInstaller's multiprocessing runtime hook makes ``freeze_support`` handle that on
Linux and macOS too), so nothing heavy may run before it.
"""

from __future__ import annotations

from app.__main__ import main

if __name__ == "__main__":
    main()
