"""Benchmarks behind `python -m bench` (run from a checkout; not installed with the package):
each module measures one thing side by side with its reference in the same run and returns
JSON-ready results plus a Markdown section.

Every module exposes `run(settings, *, quick) -> dict` and `to_markdown(result) -> str`.
Nothing here is imported by the service; benchmarks are never timed unit tests.
"""
