"""What the service holds: the pipeline once loaded, or why it is not ready."""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field

from api.settings import ServerSettings
from rag.errors import RagError
from rag.ingest.corpus import DocumentWriter, IngestResult
from rag.pipeline import Pipeline
from rag.progress import tqdm_progress

log = logging.getLogger("api")


@dataclass
class ServiceState:
    pipeline: Pipeline | None = None
    writer: DocumentWriter | None = None
    """Where writes go when not to this process's pipeline (Ray Serve replicas: the one writer)."""
    error: str | None = None
    phase: str = "starting"
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def ready(self) -> bool:
        return self.pipeline is not None

    def start_loading(self, settings: ServerSettings, *, ingest: bool) -> None:
        """Load the model and index in the background, so /health answers at once."""
        self._thread = threading.Thread(
            target=self._load, args=(settings, ingest), name="rag-loader", daemon=True
        )
        self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _load(self, settings: ServerSettings, ingest: bool) -> None:
        try:
            self.phase = "loading model"
            pipeline = Pipeline.load(settings, require_index=not ingest)
            if ingest:
                self.phase = "indexing corpus"
                print(bring_up_to_date(pipeline), file=sys.stderr)
            self.phase = "opening index"
            pipeline.index.verify()
            self.pipeline = pipeline
            self.phase = "ready"
            log.info("ready: %s", pipeline.stats())
        except RagError as exc:
            self.error = str(exc)
            self.phase = "failed"
            log.error("not ready: %s", exc)
        except Exception as exc:  # a bug: keep serving /health and /ready with the reason
            self.error = f"{type(exc).__name__}: {exc}"
            self.phase = "failed"
            log.exception("loading failed")


def bring_up_to_date(pipeline: Pipeline) -> str:
    """Bring the index in line with the corpus at start-up, with progress bars on stderr (the
    first run embeds the whole corpus: minutes for a hundred papers); returns what was done."""
    started = time.perf_counter()
    result = pipeline.ingest(rebuild_if_incompatible=True, progress=tqdm_progress)
    for path, reason in result.skipped:
        log.warning("skipped %s: %s", path, reason)
    return describe(result, pipeline.stats(), time.perf_counter() - started)


def describe(result: IngestResult, stats: dict[str, object], seconds: float) -> str:
    """One line on what an ingest did to the index."""
    size = f"{stats['documents']} documents, {stats['chunks']} chunks"
    generation = stats["generation"]
    report = result.report
    if result.built:
        return f"built index (generation {generation}): {size} in {seconds:.1f} s"
    if report.changed:
        return (
            f"updated index (generation {generation}): {len(report.added)} added, {len(report.updated)} "
            f"updated, {len(report.removed)} removed; {size} in {seconds:.1f} s"
        )
    return f"index up to date (generation {generation}): {size}"
