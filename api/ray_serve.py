"""`rag serve --engine ray`: the same FastAPI app on Ray Serve replicas, with a single writer.

Each replica loads the model and the index once and only reads: questions, searches and
document views are answered there, spread over the replicas by Ray Serve's proxy. Writes
(uploads, deletions, server-side ingestion) go to one `IndexWriterDeployment` replica, so a
generation is written by one process at a time wherever the replicas run; the replicas pick up
each new generation when `index/CURRENT` changes, as the workers of `rag serve` do.

On a multi-node cluster the index directory (and the corpus, for uploads) must be on storage
every node mounts at the same path. Ray is an optional extra (`pip install .[distributed]`),
imported only here and only when used.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from api.settings import ServerSettings
from rag.ingest.corpus import IngestResult
from rag.ingest.distributed import start_ray
from rag.ingest.sync import IngestReport
from rag.ingest.uploads import StagedFile
from rag.pipeline import Pipeline
from rag.progress import Progress, no_progress

log = logging.getLogger("api")
APP_NAME = "cited-rag"
WRITER_NAME = "IndexWriter"


class RemoteWriter:
    """`rag.pipeline.DocumentWriter` that sends each write to the writer deployment."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    # The writer runs in another process: the caller's progress callback cannot follow it there.
    def add_documents(self, staged: Sequence[StagedFile], progress: Progress = no_progress) -> IngestReport:
        return self._handle.add_documents.remote(list(staged)).result()  # type: ignore[no-any-return]

    def delete_document(self, doc_id: str) -> IngestReport:
        return self._handle.delete_document.remote(doc_id).result()  # type: ignore[no-any-return]

    def ingest(
        self,
        paths: Sequence[Path] | None = None,
        *,
        prune: bool = True,
        confine_to: Sequence[Path] | None = None,
        progress: Progress = no_progress,
    ) -> IngestResult:
        return self._handle.ingest.remote(paths, prune=prune, confine_to=confine_to).result()  # type: ignore[no-any-return]


def build_application(settings: ServerSettings, replicas: int) -> Any:
    """The Serve application: `replicas` read replicas as the ingress, and one writer."""
    from ray import serve

    settings_json = settings.model_dump_json()

    @serve.deployment(name=WRITER_NAME, num_replicas=1, ray_actor_options={"num_cpus": 0})
    class IndexWriterDeployment:
        # num_cpus 0: it is idle but for writes, and must not keep replicas from a small machine.
        def __init__(self, settings_json: str) -> None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            self._pipeline = Pipeline.load(
                ServerSettings.model_validate_json(settings_json), require_index=False
            )

        def add_documents(self, staged: list[StagedFile]) -> IngestReport:
            return self._pipeline.add_documents(staged)

        def delete_document(self, doc_id: str) -> IngestReport:
            return self._pipeline.delete_document(doc_id)

        def ingest(
            self, paths: Sequence[Path] | None, *, prune: bool, confine_to: Sequence[Path] | None
        ) -> IngestResult:
            return self._pipeline.ingest(paths, prune=prune, confine_to=confine_to)

    @serve.deployment(name="Replica", num_replicas=replicas, ray_actor_options={"num_cpus": 1})
    @serve.ingress()
    class ReplicaDeployment:
        def __init__(self, settings_json: str, writer: Any) -> None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            self._settings = ServerSettings.model_validate_json(settings_json)
            self._writer = RemoteWriter(writer)

        def __serve_build_asgi_app__(self) -> Any:
            from api.app import create_app

            pipeline = Pipeline.load(self._settings)  # once per replica, read-only here
            return create_app(self._settings, pipeline, writer=self._writer)

    replica: Any = ReplicaDeployment  # the decorators return Serve deployments (untyped)
    writer: Any = IndexWriterDeployment
    return replica.bind(settings_json, writer.bind(settings_json))


def deploy(settings: ServerSettings, replicas: int, *, blocking: bool) -> Any:
    """Start (or join) Ray, start Serve on settings.host:settings.port, and run the application."""
    start_ray(settings.ray)
    from ray import serve

    # One replica process per core at most: the model's threads divide the node's cores.
    threads = settings.embedding.threads or max(1, (os.cpu_count() or 1) // replicas)
    settings = settings.model_copy(
        update={"embedding": settings.embedding.model_copy(update={"threads": threads}), "workers": 1}
    )
    serve.start(http_options={"host": settings.host, "port": settings.port})
    return serve.run(
        build_application(settings, replicas), name=APP_NAME, route_prefix="/", blocking=blocking
    )


def serve_on_ray(settings: ServerSettings, replicas: int) -> None:
    """`rag serve --engine ray`: serve until interrupted."""
    log.info("serving %d replicas on Ray at http://%s:%d", replicas, settings.host, settings.port)
    try:
        deploy(settings, replicas, blocking=True)
    except KeyboardInterrupt:
        from ray import serve

        serve.shutdown()  # type: ignore[no-untyped-call]
