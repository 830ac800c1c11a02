"""What the service holds: the pipeline once loaded, or why it is not ready."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from rag.errors import RagError
from rag.pipeline import DocumentWriter, Pipeline
from rag.settings import Settings

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

    def start_loading(self, settings: Settings, *, ingest: bool) -> None:
        """Load the model and index in the background, so /health answers at once."""
        self._thread = threading.Thread(
            target=self._load, args=(settings, ingest), name="rag-loader", daemon=True
        )
        self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _load(self, settings: Settings, ingest: bool) -> None:
        try:
            self.phase = "loading model"
            pipeline = Pipeline.load(settings, require_index=not ingest)
            if ingest:
                self.phase = "indexing corpus"
                result = pipeline.ingest(rebuild_if_incompatible=True)
                for path, reason in result.skipped:
                    log.warning("skipped %s: %s", path, reason)
                log.info("corpus in sync: %s", result.report)
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
