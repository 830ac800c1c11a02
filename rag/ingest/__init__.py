"""Getting documents in: loaders, chunking, duplicates, uploads, and writing them into the index."""
