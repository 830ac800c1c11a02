"""HTTP service over the `rag` library (FastAPI)."""
