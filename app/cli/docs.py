"""``hearth docs``: collections of your documents, indexed for questions with sources.

    hearth docs add PATH... [--collection NAME] [--embedding-model ID]
                                                  index files and folders (PDF, DOCX, EPUB,
                                                  Markdown, text, HTML); again: only
                                                  what changed
    hearth docs ls [--json]                       collections, their files and problems;
                                                  "stale": indexed with another embedding
                                                  model than the current one
    hearth docs models [--json]                   the embedding models installed (* current)
    hearth docs rm NAME                           forget a collection (files stay)
    hearth docs reindex NAME [--embedding-model ID]
                                                  index it again with the current
                                                  embedding model (the old index serves
                                                  until the new one is complete)

--embedding-model ID chooses the embedding model documents use from then on (saved in
the settings, as Preferences > Documents does): the starter all-MiniLM-L6-v2-onnx-int8
or a GGUF embedding model of the library (hearth models pull bge-small-en-v1.5).
    hearth docs search QUERY [--collection NAME] [--top K] [--json]
    hearth chat --docs NAME --prompt TEXT [--json]   answer from a collection, citing it
    hearth chat --docs NAME                      the same for every question typed

Exit status: 0 when it worked; 1 when a file could not be indexed (every other file
is), a collection is unknown or the index cannot be used; 2 for a command line argparse
refuses. Progress and per-file problems go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.args import positive_int

if TYPE_CHECKING:  # the documents' modules (NumPy, the index) load only when a command runs
    from app.docs.documents import Documents
    from app.docs.grounding import Grounded
    from app.docs.indexer import IndexProgress, IndexReport

EXIT_OK = 0
EXIT_FAILED = 1
DEFAULT_COLLECTION = "Documents"


def add_docs_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``docs`` and its actions."""
    docs = sub.add_parser(
        "docs",
        help="collections of your documents to ask questions about, with sources",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = docs.add_subparsers(dest="docs_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="index files and folders into a collection")
    add.add_argument("paths", nargs="+", metavar="PATH", type=Path)
    add.add_argument(
        "--collection", "-c", default=DEFAULT_COLLECTION, metavar="NAME",
        help=f"the collection (made when new; default {DEFAULT_COLLECTION!r})",
    )  # fmt: skip
    _embedding_model_option(add)
    ls = actions.add_parser("ls", help="list collections")
    ls.add_argument("--json", action="store_true", help="print a JSON list")
    ls.add_argument(
        "--all", action="store_true",
        help="also the files dropped into single conversations (each its own collection)",
    )  # fmt: skip
    models = actions.add_parser("models", help="the embedding models installed for documents")
    models.add_argument("--json", action="store_true", help="print a JSON list")
    rm = actions.add_parser("rm", help="remove a collection and its index (not the files)")
    rm.add_argument("name", metavar="NAME")
    reindex = actions.add_parser(
        "reindex", help="index a collection again with the current embedding model"
    )
    reindex.add_argument("name", metavar="NAME")
    _embedding_model_option(reindex)
    search = actions.add_parser("search", help="the passages that best match QUERY")
    search.add_argument("query", metavar="QUERY")
    search.add_argument("--collection", "-c", metavar="NAME", help="default: every collection")
    search.add_argument("--top", "-k", type=positive_int, default=5, metavar="K")
    search.add_argument(
        "--mode", choices=["hybrid", "keyword", "vector"], default="hybrid",
        help="hybrid (default): keywords (BM25) and meaning (vectors) together",
    )  # fmt: skip
    search.add_argument("--json", action="store_true", help="print a JSON list, best first")


def _embedding_model_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--embedding-model", metavar="ID",
        help="use this embedding model from now on (see hearth docs models)",
    )  # fmt: skip


def choose_embedding_model(model_id: str, *, verbose: bool = False) -> str:
    """Make ``model_id`` (exact or a unique part) the embedding model documents use,
    saved in the settings; returns its full id."""
    from app.context import open_app_context
    from app.core.settings import save_settings
    from app.docs.embedding_models import find_embedding_model, set_configured_model

    context = open_app_context(verbose=verbose)
    choice = find_embedding_model(context.library, model_id)
    set_configured_model(context.settings, choice)
    save_settings(context.paths, context.settings)
    print(f"Documents use the embedding model {choice.model_id} from now on.", file=sys.stderr)
    return choice.model_id


def open_documents() -> Documents:
    """The index in the conversation database of this user (``HEARTH_HOME`` honoured)."""
    from app.core.paths import app_paths
    from app.docs.documents import Documents
    from app.storage import default_database_path

    return Documents.open(default_database_path(app_paths().ensure()))


def run_docs(args: argparse.Namespace) -> int:
    """Run one ``docs`` action; HearthErrors go up to the CLI's one-sentence handler."""
    from app.core.logsetup import setup_logging
    from app.core.paths import app_paths

    setup_logging(app_paths().ensure(), verbose=args.verbose)
    if getattr(args, "embedding_model", None):
        choose_embedding_model(args.embedding_model, verbose=args.verbose)
    if args.docs_command == "models":
        return _models(as_json=args.json, verbose=args.verbose)
    with open_documents() as docs:
        if args.docs_command == "add":
            return _add(docs, args.paths, args.collection)
        if args.docs_command == "ls":
            return _ls(docs, as_json=args.json, everything=args.all)
        if args.docs_command == "rm":
            return _rm(docs, args.name)
        if args.docs_command == "reindex":
            return _report(docs.reindex(args.name, on_progress=_progress))
        return _search(docs, args)


def _progress(event: IndexProgress) -> None:
    print(
        f"[{event.files_done}/{event.files_total}] {Path(event.path).name} "
        f"({event.pages_done} pages, {event.elapsed_s:.1f} s)",
        file=sys.stderr,
        flush=True,
    )


def _add(docs: Documents, paths: list[Path], name: str) -> int:
    return _report(docs.add(name, paths, on_progress=_progress))


def _report(report: IndexReport) -> int:
    """Per-file problems and a summary on stderr; 1 when a file could not be indexed."""
    from app.docs.indexer import ERROR, INDEXED, MOVED, NO_TEXT, REMOVED, UNCHANGED

    for problem in report.problems:
        print(f"hearth: {problem.message}", file=sys.stderr)
    parts = [
        f"{report.count(status)} {label}"
        for status, label in (
            (INDEXED, "indexed"), (UNCHANGED, "unchanged"), (MOVED, "renamed"),
            (REMOVED, "removed"), (NO_TEXT, "without text"), (ERROR, "failed"),
        )
        if report.count(status)
    ]  # fmt: skip
    rate = report.pages / report.elapsed_s if report.pages and report.elapsed_s else 0.0
    print(
        f"Collection {report.collection!r}: {', '.join(parts) or 'no files'}; "
        f"{report.pages} pages, {report.chunks} passages in {report.elapsed_s:.1f} s"
        + (f" ({rate:.1f} pages/s)" if rate else "")
        + ".",
        file=sys.stderr,
    )
    return EXIT_FAILED if report.problems else EXIT_OK


def _models(*, as_json: bool, verbose: bool) -> int:
    from app.context import open_app_context
    from app.docs.embedding_models import current_embedding_model_id, installed_embedding_models

    context = open_app_context(verbose=verbose)
    current = current_embedding_model_id(context.settings)
    choices = installed_embedding_models(context.library)
    if as_json:
        items = [
            {"id": c.model_id, "kind": c.kind, "path": c.path, "current": c.model_id == current}
            for c in choices
        ]
        print(json.dumps(items, ensure_ascii=False))
        return EXIT_OK
    if all(c.model_id != current for c in choices):
        print(f"hearth: the chosen embedding model {current} is not installed.", file=sys.stderr)
    for choice in choices:
        print(f"{'*' if choice.model_id == current else ' '} {choice.label}  [{choice.model_id}]")
    return EXIT_OK


def _ls(docs: Documents, *, as_json: bool, everything: bool = False) -> int:
    private = docs.store.private_collection_ids()
    summaries = [s for s in docs.summaries() if everything or s.collection.id not in private]
    current = docs.embedding_model_id
    if as_json:
        items = [
            {
                "name": s.collection.name,
                "files": s.files,
                "indexed": s.indexed,
                "no_text": s.no_text,
                "errors": s.errors,
                "passages": s.chunks,
                "pages": s.pages,
                "embedding_model": s.collection.embedding_model,
                "stale": docs.is_stale(s),
                "current_embedding_model": current,
                "sources": list(s.sources),
                "updated_at": s.collection.updated_at,
                "private": s.collection.id in private,
            }
            for s in summaries
        ]
        print(json.dumps(items, ensure_ascii=False))
        return EXIT_OK
    if not summaries:
        print("No document collections yet; add one with: hearth docs add PATH --collection NAME")
        return EXIT_OK
    for s in summaries:
        problems = s.errors + s.no_text
        print(
            f"{s.collection.name}: {s.indexed} of {s.files} files indexed, {s.chunks} passages"
            + (f", {problems} not readable" if problems else "")
        )
        if docs.is_stale(s):
            print(
                f"  indexed with {s.collection.embedding_model}, not the current {current}: "
                f"re-index with hearth docs reindex {s.collection.name!r}"
            )
        for source in s.sources:
            print(f"  {source}")
    return EXIT_OK


def _rm(docs: Documents, name: str) -> int:
    from app.core.errors import ConfigError

    if not docs.remove(name):
        docs.collection(name)  # raises the error that names the collections there are
        raise ConfigError(f"No document collection is named {name!r}.")
    print(f"Removed the collection {name!r} (your files were not touched).", file=sys.stderr)
    return EXIT_OK


def _search(docs: Documents, args: argparse.Namespace) -> int:
    names = [args.collection] if args.collection else None
    passages = docs.search(args.query, names, top_k=args.top, mode=args.mode)
    if args.json:
        keys = ("path", "page", "text", "score")
        print(json.dumps([{k: p.to_json()[k] for k in keys} for p in passages], ensure_ascii=False))
        return EXIT_OK
    if not passages:
        print("No passage matches.", file=sys.stderr)
    from app.docs.grounding import source_label

    for number, p in enumerate(passages, start=1):
        print(f"[{number}] {source_label(p)}  (score {p.score:.4f})")
        print(f"    {' '.join(p.text.split())[:300]}")
    return EXIT_OK


def ground_prompt(names: list[str], question: str, *, top_k: int = 4) -> Grounded:
    """``hearth chat --docs``: the question with the passages found in ``names``."""
    with open_documents() as docs:
        return docs.ground(question, names, top_k=top_k)


def apply_docs(args: argparse.Namespace) -> dict[str, Any] | None:
    """``hearth chat --docs NAME``: replace ``args.prompt`` by the question with the
    passages found, and return what ``--json`` adds (``sources``); None without --docs."""
    if not getattr(args, "docs", None):
        return None
    if args.prompt is None:  # the interactive chat grounds each question (InteractiveDocs)
        with open_documents() as docs:  # an unknown name is refused before a model loads
            for name in args.docs:
                docs.collection(name)
        return None
    grounded = ground_prompt(args.docs, args.prompt)
    if not grounded.found:
        print("hearth: nothing in the documents is relevant to the question.", file=sys.stderr)
    args.prompt = grounded.content
    # The CLI contract: each source is {"path", "page"} (the rest is the window's).
    return {"sources": [{"path": s["path"], "page": s["page"]} for s in grounded.sources()]}


class InteractiveDocs:
    """``hearth chat --docs NAME`` without ``--prompt``: each question is answered from
    the collections (the history keeps it as typed, so old passages do not pile up in
    the context) and its sources are shown after the reply. Without names it changes
    nothing."""

    def __init__(self, names: list[str] | None) -> None:
        self.names = list(names or [])
        self.documents: Documents | None = None
        self.sources: list[dict[str, Any]] | None = None
        if self.names:
            self.documents = open_documents()
            try:  # an unknown name is one sentence now, not after the first question
                self.names = [self.documents.collection(name).name for name in self.names]
            except BaseException:
                self.documents.close()
                raise

    def __enter__(self) -> InteractiveDocs:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.documents is not None:
            self.documents.close()

    def prompt(self, question: str) -> str:
        """The user message the model reads for ``question``."""
        if self.documents is None:
            return question
        grounded = self.documents.ground(question, self.names)
        self.sources = grounded.sources()
        return grounded.content

    def show_sources(self, out: Any) -> None:
        """The last answer's sources, one line each (or that nothing was relevant)."""
        if self.sources is None:
            return
        from app.docs.grounding import label

        if not self.sources:
            print("[nothing in the documents is relevant to the question]", file=out)
        for source in self.sources:
            where = label(source["path"], source["page"], source["heading"])
            print(f"[{source['n']}] {where}", file=out)
        self.sources = None
