"""Writes that may take long run as jobs: the request waits a few seconds for the result, and
otherwise answers 202 with a job to poll at GET /jobs/{id}.

A job runs on one thread of the worker process that received it (one job at a time per
process: writes take the index's single-writer lock anyway). Its state is a small JSON file
under `<index>/jobs/`, so any worker can answer the poll; a job whose process has died reads
as failed.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from api.errors import status_of
from rag.durable import write_atomic
from rag.errors import NotFoundError, RagError, StoppedError
from rag.progress import stage_name

log = logging.getLogger("api")
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
RETENTION_S = 24 * 3600  # finished jobs older than this are removed when the next one starts
PROGRESS_EVERY_S = 0.5  # progress is saved at most this often
State = Literal["queued", "running", "done", "failed"]


class JobProgress(BaseModel):
    stage: str = Field(
        description="What the job is doing: reading files, embedding chunks and sentences, new words ..."
    )
    done: int = Field(description="Items of this stage done (files; characters of text when embedding).")
    total: int = Field(description="Items in this stage (files; characters of text when embedding).")
    eta_s: float | None = Field(default=None, description="Estimated seconds left in this stage.")


class JobError(BaseModel):
    status: int = Field(description="The HTTP status the request would have been answered with.")
    detail: str


class Job(BaseModel):
    """A write running in the background."""

    job_id: str
    kind: Literal["upload", "ingest"]
    state: State
    status_url: str = Field(description="Poll this for the state.")
    files: list[str] = Field(default_factory=list, description="The uploaded files' names.")
    created_at: str
    updated_at: str
    pid: int = Field(description="The server process running the job.")
    progress: JobProgress | None = None
    result: dict[str, Any] | None = Field(
        default=None, description="When done: what POST /documents or POST /ingest would have returned."
    )
    error: JobError | None = Field(default=None, description="When failed: why.")


Work = Callable[["ProgressReporter"], BaseModel]
"""A job's work: given a progress reporter, returns the response body."""


class JobStore:
    """Job records as JSON files in one directory, shared by the server's worker processes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._executor: ThreadPoolExecutor | None = None
        self._stopping = threading.Event()

    def start(
        self, kind: Literal["upload", "ingest"], files: list[str], work: Work
    ) -> tuple[Job, Future[Any]]:
        """Queue `work` as a new job; returns its record and a future of the response body."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._remove_old()
        now = _now()
        job_id = uuid.uuid4().hex
        job = Job(
            job_id=job_id,
            kind=kind,
            state="queued",
            status_url=f"/jobs/{job_id}",
            files=files,
            created_at=now,
            updated_at=now,
            pid=os.getpid(),
        )
        self._save(job)
        if self._executor is None:  # the first job, or the first after a shutdown (app restarted)
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rag-job")
        # In the request's context: the job's log records carry its request id.
        future = self._executor.submit(contextvars.copy_context().run, self._run, job, work)
        return job, future

    def read(self, job_id: str) -> Job:
        missing = NotFoundError(f"no job {job_id!r}", "a job is kept for a day after it ends")
        if not JOB_ID.match(job_id):
            raise missing
        try:
            job = Job.model_validate_json(self._path(job_id).read_bytes())
        except FileNotFoundError:
            raise missing from None
        if job.state in ("queued", "running") and not process_alive(job.pid):
            detail = (
                f"the server process running it (pid {job.pid}) stopped before it finished; send it again"
            )
            job = job.model_copy(update={"state": "failed", "error": JobError(status=500, detail=detail)})
        return job

    def shutdown(self) -> None:
        """Stop the running job at its next step (its write is not committed: the index stays
        as it was and an uploaded file is removed; the job reads as failed) and drop queued ones."""
        if self._executor is not None:
            self._stopping.set()
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
            self._stopping = threading.Event()

    def _run(self, job: Job, work: Work) -> BaseModel:
        current = job

        def update(**fields: Any) -> None:
            nonlocal current
            current = current.model_copy(update={**fields, "updated_at": _now()})
            self._save(current)

        update(state="running")
        try:
            body = work(ProgressReporter(lambda progress: update(progress=progress), self._stopping))
        except BaseException as exc:
            update(state="failed", progress=None, error=_error_of(exc))
            raise
        update(state="done", progress=None, result=body.model_dump(mode="json"))
        return body

    def _save(self, job: Job) -> None:
        write_atomic(self._path(job.job_id), job.model_dump_json().encode())

    def _path(self, job_id: str) -> Path:
        return self.directory / f"{job_id}.json"

    def _remove_old(self) -> None:
        cutoff = time.time() - RETENTION_S
        for path in self.directory.glob("*.json"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:  # another worker removed it first
                continue


class ProgressReporter:
    """The job's progress: a `rag.progress.Progress` factory (one bar per stage) and named stages
    without counts (chunking). Each step is where a job stops when the server shuts down."""

    def __init__(self, save: Callable[[JobProgress], Any], stopping: threading.Event) -> None:
        self._save = save
        self._stopping = stopping
        self._last = 0.0

    def stage(self, name: str, total: int = 0) -> None:
        self._check()
        self._save(JobProgress(stage=name, done=0, total=total))
        self._last = time.monotonic()

    def __call__(self, label: str, total: int) -> Callable[[int], None]:
        started = time.monotonic()
        stage = stage_name(label)
        self.stage(stage, total)
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            self._check()
            done += n
            now = time.monotonic()
            if now - self._last < PROGRESS_EVERY_S and done < total:
                return
            self._last = now
            rate = done / max(now - started, 1e-6)
            eta = (total - done) / rate if rate > 0 else None
            self._save(JobProgress(stage=stage, done=done, total=total, eta_s=_rounded(eta)))

        return advance

    def _check(self) -> None:
        if self._stopping.is_set():
            raise StoppedError("the server stopped before this job finished", "send it again")


async def respond(store: JobStore, job: Job, future: Future[Any], wait_s: float) -> Any:
    """The job's response body if it ends within `wait_s` (its error raised as the request's
    own), else 202 with the job to poll."""
    wrapped = asyncio.wrap_future(future)
    try:
        return await asyncio.wait_for(asyncio.shield(wrapped), timeout=wait_s)
    except TimeoutError:
        pass
    # The client was answered; the job goes on. Its error (if any) is in its record.
    wrapped.add_done_callback(lambda done: done.exception() if not done.cancelled() else None)
    current = store.read(job.job_id)
    return JSONResponse(
        status_code=202, content=current.model_dump(mode="json"), headers={"Location": current.status_url}
    )


def _error_of(exc: BaseException) -> JobError:
    if isinstance(exc, RagError):
        return JobError(status=status_of(exc), detail=str(exc))
    if isinstance(exc, HTTPException):
        return JobError(status=exc.status_code, detail=str(exc.detail))
    log.error("job failed", exc_info=exc)
    return JobError(status=500, detail="internal error; see the server log")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
