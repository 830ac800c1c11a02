"""The index on disk: generations, the chunk store, vectors, BM25 and the vocabulary."""
