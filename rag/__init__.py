"""Cited question answering over a local document collection."""

__version__ = "0.1.0"
