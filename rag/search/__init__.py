"""Finding passages: dense and lexical retrieval fused, and the neighbouring chunks of the best."""
