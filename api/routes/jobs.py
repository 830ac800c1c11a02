"""GET /jobs/{job_id}: the state of a write answered with 202."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import JobsDep
from api.jobs import Job
from api.schemas import ErrorBody

router = APIRouter(tags=["documents"])


@router.get("/jobs/{job_id}", response_model=Job, responses={404: {"model": ErrorBody}})
def get_job(job_id: str, jobs: JobsDep) -> Job:
    """A background write: `queued`, `running` (with progress: stage, done, total, ETA), `done`
    (with the response the request would have had) or `failed` (with the status and reason)."""
    return jobs.read(job_id)
