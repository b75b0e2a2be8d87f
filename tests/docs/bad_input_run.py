"""Index a folder the way the window does (Documents.open(out_of_process=True)) and
print what happened as JSON; run as its own process by tests/docs/test_bad_input.py, so
that root can drop the capabilities that let it read any folder.

    python -m tests.docs.bad_input_run FOLDER DATABASE DELETE_AFTER DELETED

``DELETED`` is deleted as soon as the file ``DELETE_AFTER`` is indexed (a file deleted
while indexing).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app.docs.documents import Documents
from app.docs.indexer import IndexProgress, IndexReport


def outcomes(report: IndexReport) -> list[dict[str, object]]:
    return [
        {"name": Path(o.path).name, "path": o.path, "status": o.status, "message": o.message,
         "pages": o.pages}
        for o in report.outcomes
    ]  # fmt: skip


def main() -> None:
    folder, database, delete_after, deleted = (Path(a) for a in sys.argv[1:5])

    def delete(event: IndexProgress) -> None:
        if Path(event.path) == delete_after:
            deleted.unlink()

    with Documents.open(database, out_of_process=True) as docs:
        first = docs.add("home", [folder], on_progress=delete)
        second = docs.update("home")
        hits = docs.search("may I keep a dog in the flat?", ["home"], top_k=1)
        records = docs.store.files(docs.collection("home").id)
        print(
            json.dumps(
                {
                    "first": outcomes(first),
                    "second": outcomes(second),
                    "best": [hits[0].path, hits[0].page],
                    "hashes": {Path(r.path).name: r.content_hash for r in records},
                    "errors": {Path(r.path).name: r.error for r in records},
                }
            )
        )


if __name__ == "__main__":
    main()
