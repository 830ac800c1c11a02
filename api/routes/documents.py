"""The documents resource: list, read, add (JSON or file upload), delete; and POST /ingest."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.deps import JobsDep, MetricsDep, PipelineDep, SettingsDep, WriterDep
from api.jobs import Job, ProgressReporter, respond
from api.schemas import (
    DocumentDetail,
    DocumentIn,
    DocumentList,
    ErrorBody,
    Facets,
    IngestRequest,
    IngestResponse,
    NameCount,
    WriteResult,
    YearCount,
)
from rag.ingest.paths import confine
from rag.ingest.sync import IngestReport
from rag.ingest.uploads import UPLOAD_SUFFIXES, StagedFile, stage_file, stage_record, upload_name
from rag.pipeline import Pipeline
from rag.serialize import document_dict, summary_dict

router = APIRouter(tags=["documents"])
MAX_FILES = 20

WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "An API key is configured and the request lacks it"},
    403: {"model": ErrorBody, "description": "A path outside the corpus roots"},
    404: {"model": ErrorBody, "description": "An unknown doc_id"},
    409: {"model": ErrorBody, "description": "The doc_id belongs to another file"},
    413: {"model": ErrorBody, "description": "The body or a file is larger than the limit"},
    415: {"model": ErrorBody, "description": "Not JSON or multipart, or a file type that cannot be read"},
    422: {"model": ErrorBody, "description": "Invalid fields, or a file that cannot be parsed"},
    503: {"model": ErrorBody, "description": "Not ready, or another writer holds the index"},
}
ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"model": Job, "description": "Still being written after RAG_WRITE_WAIT_S: poll the job"}
}
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DocumentIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": f"One or more {', '.join(UPLOAD_SUFFIXES)} files.",
                        }
                    },
                }
            },
        },
    }
}


@router.get("/documents", response_model=DocumentList)
def list_documents(
    pipeline: PipelineDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> DocumentList:
    """The indexed documents with their citation metadata."""
    page, total = pipeline.documents(limit, offset)
    return DocumentList.model_validate({"documents": [summary_dict(s) for s in page], "total": total})


@router.get("/facets", response_model=Facets)
def facets(pipeline: PipelineDep) -> Facets:
    """How many documents have each year, journal and file type: the values `filters` selects on."""
    return facets_of(pipeline)


def facets_of(pipeline: Pipeline) -> Facets:
    found = pipeline.facets()
    return Facets(
        documents=sum(count for _, count in found.years),
        years=[YearCount(value=v, count=n) for v, n in found.years],
        journals=[NameCount(value=v, count=n) for v, n in found.journals],
        file_types=[NameCount(value=v, count=n) for v, n in found.file_types],
    )


@router.get("/documents/{doc_id}", response_model=DocumentDetail, responses={404: {"model": ErrorBody}})
def get_document(doc_id: str, pipeline: PipelineDep) -> DocumentDetail:
    """One document: metadata and full text."""
    return DocumentDetail.model_validate(document_dict(pipeline.document(doc_id)))


@router.post(
    "/documents",
    response_model=WriteResult,
    responses={**WRITE_ERRORS, **ACCEPTED},
    openapi_extra=UPLOAD_BODY,
)
async def add_documents(
    request: Request, settings: SettingsDep, writer: WriterDep, jobs: JobsDep, metrics: MetricsDep
) -> Any:
    """Add or replace documents: a JSON document, or files in any supported format as multipart
    field `file`. Only their chunks are embedded; they answer questions once this returns 200.
    A write that takes longer than `RAG_WRITE_WAIT_S` is answered 202 with a job to poll.
    Posting identical content again changes nothing."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type == "application/json":
        try:
            document = DocumentIn.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from exc
        record = document.record()
        names = [str(record["doc_id"])] if record.get("doc_id") else []

        def stage() -> list[StagedFile]:
            return [stage_record(record, settings.upload_dir, settings.corpus_dir)]

    elif media_type == "multipart/form-data":
        uploads = await _read_uploads(request, settings.max_upload_bytes)
        names = [name for name, _ in uploads]

        def stage() -> list[StagedFile]:
            return [
                stage_file(name, data, settings.upload_dir, settings.corpus_dir) for name, data in uploads
            ]

    else:
        raise HTTPException(415, "send application/json (one document) or multipart/form-data (files)")

    def work(progress: ProgressReporter) -> WriteResult:
        with metrics.write("upload"):
            progress.stage("reading files", len(names))
            staged = stage()
            progress.stage("chunking")
            return _write_result(writer.add_documents(staged, progress=progress))

    job, future = jobs.start("upload", names, work)
    return await respond(jobs, job, future, settings.write_wait_s)


async def _read_uploads(request: Request, max_bytes: int) -> list[tuple[str, bytes]]:
    """(file name, contents) of each file in the form; the types and sizes are checked here,
    the contents are parsed by the job."""
    form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES, max_part_size=max_bytes)
    uploads = [item for item in form.getlist("file") if isinstance(item, UploadFile)]
    if not uploads:
        raise HTTPException(422, "put the files in a multipart field named 'file'")
    files = []
    for upload in uploads:
        upload_name(upload.filename or "")  # unsupported types answer 415 before anything is read
        data = await upload.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise HTTPException(413, f"{upload.filename} is larger than {max_bytes} bytes")
        files.append((upload.filename or "", data))
    return files


@router.delete("/documents/{doc_id}", response_model=WriteResult, responses=WRITE_ERRORS)
def delete_document(doc_id: str, writer: WriterDep, metrics: MetricsDep) -> WriteResult:
    """Remove an uploaded document (and its stored file) from the index."""
    with metrics.write("delete"):
        return _write_result(writer.delete_document(doc_id))


@router.post("/ingest", response_model=IngestResponse, responses={**WRITE_ERRORS, **ACCEPTED})
async def ingest(
    body: IngestRequest, settings: SettingsDep, writer: WriterDep, jobs: JobsDep, metrics: MetricsDep
) -> Any:
    """Index files already on the server. Paths must lie inside the configured corpus roots.
    Documents whose files are gone are removed only when the whole corpus is ingested or
    `prune` is set, and then only those whose files were under the given paths."""
    roots = settings.ingest_roots
    paths = [confine(path, roots) for path in body.paths] or roots
    prune = body.prune if body.prune is not None else not body.paths

    def work(progress: ProgressReporter) -> IngestResponse:
        with metrics.write("ingest"):
            progress.stage("reading files")
            result = writer.ingest(paths, prune=prune, confine_to=roots, progress=progress)
        return IngestResponse.model_validate(
            {
                **_write_result(result.report).model_dump(),
                "documents_seen": result.documents_seen,
                "skipped": [{"path": path, "reason": reason} for path, reason in result.skipped],
                "files": [asdict(file) for file in result.files],
            }
        )

    job, future = jobs.start("ingest", [], work)
    return await respond(jobs, job, future, settings.write_wait_s)


def _write_result(report: IngestReport) -> WriteResult:
    return WriteResult(
        added=report.added,
        updated=report.updated,
        removed=report.removed,
        unchanged=report.unchanged,
        chunks_added=report.chunks_added,
        chunks_removed=report.chunks_removed,
        generation=report.generation,
    )
