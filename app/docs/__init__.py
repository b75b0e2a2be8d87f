"""Hearth reads: collections of the user's documents, indexed for retrieval with sources.

One concern per module: ``parse`` and the ``read_*`` modules turn a file into sections
(text with its page or heading), ``chunking`` cuts sections into passages sized in the
embedding model's tokens, ``embedder`` turns passages into vectors, ``store`` keeps
collections, files, passages and vectors in the conversation database, ``indexer``
brings a collection up to date with its files, ``search`` answers a query (BM25 and
vectors, fused) and ``grounding`` puts the passages found into a prompt with numbered
sources.
"""
