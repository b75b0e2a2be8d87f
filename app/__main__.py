"""Entry point: ``hearth`` and ``python -m app``."""

from __future__ import annotations

import multiprocessing
import sys


def main() -> None:
    # Needed for a frozen bundle: worker processes re-enter here.
    multiprocessing.freeze_support()
    from app.cli.main import run

    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
