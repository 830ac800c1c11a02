"""The documents resource: list, read, add (JSON or file upload), delete; and POST /ingest."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.deps import PipelineDep, WriterDep
from api.schemas import (
    DocumentDetail,
    DocumentIn,
    DocumentList,
    ErrorBody,
    IngestRequest,
    IngestResponse,
    WriteResult,
)
from rag.ingest import IngestReport
from rag.paths import confine
from rag.pipeline import Pipeline
from rag.serialize import document_dict, summary_dict
from rag.uploads import UPLOAD_SUFFIXES, StagedFile, stage_file, stage_record, upload_name

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
    summaries = pipeline.index.chunks.list_documents()
    page = summaries[offset : offset + limit]
    return DocumentList.model_validate(
        {"documents": [summary_dict(s) for s in page], "total": len(summaries)}
    )


@router.get("/documents/{doc_id}", response_model=DocumentDetail, responses={404: {"model": ErrorBody}})
def get_document(doc_id: str, pipeline: PipelineDep) -> DocumentDetail:
    """One document: metadata and full text."""
    return DocumentDetail.model_validate(document_dict(pipeline.document(doc_id)))


@router.post("/documents", response_model=WriteResult, responses=WRITE_ERRORS, openapi_extra=UPLOAD_BODY)
async def add_documents(request: Request, pipeline: PipelineDep, writer: WriterDep) -> WriteResult:
    """Add or replace documents: a JSON document, or `.txt`/`.md`/`.jsonl` files as multipart
    field `file`. Only their chunks are embedded; they answer questions once this returns.
    Posting identical content again changes nothing."""
    settings = pipeline.settings
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type == "application/json":
        try:
            document = DocumentIn.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from exc
        staged = [
            await run_in_threadpool(stage_record, document.record(), settings.upload_dir, settings.corpus_dir)
        ]
    elif media_type == "multipart/form-data":
        staged = await _staged_uploads(request, pipeline)
    else:
        raise HTTPException(415, "send application/json (one document) or multipart/form-data (files)")
    report = await run_in_threadpool(writer.add_documents, staged)
    return _write_result(report)


async def _staged_uploads(request: Request, pipeline: Pipeline) -> list[StagedFile]:
    settings = pipeline.settings
    form = await request.form(
        max_files=MAX_FILES, max_fields=MAX_FILES, max_part_size=settings.max_upload_bytes
    )
    uploads = [item for item in form.getlist("file") if isinstance(item, UploadFile)]
    if not uploads:
        raise HTTPException(422, "put the files in a multipart field named 'file'")
    staged = []
    for upload in uploads:
        upload_name(upload.filename or "")  # unsupported types answer 415 before anything is read
        data = await upload.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise HTTPException(413, f"{upload.filename} is larger than {settings.max_upload_bytes} bytes")
        # Parsing a large file is CPU work: off the event loop, like the write itself.
        staged.append(
            await run_in_threadpool(
                stage_file, upload.filename or "", data, settings.upload_dir, settings.corpus_dir
            )
        )
    return staged


@router.delete("/documents/{doc_id}", response_model=WriteResult, responses=WRITE_ERRORS)
def delete_document(doc_id: str, writer: WriterDep) -> WriteResult:
    """Remove an uploaded document (and its stored file) from the index."""
    return _write_result(writer.delete_document(doc_id))


@router.post("/ingest", response_model=IngestResponse, responses=WRITE_ERRORS)
def ingest(body: IngestRequest, pipeline: PipelineDep, writer: WriterDep) -> IngestResponse:
    """Index files already on the server. Paths must lie inside the configured corpus roots."""
    roots = pipeline.settings.ingest_roots
    paths = [confine(path, roots) for path in body.paths] or roots
    prune = body.prune if body.prune is not None else not body.paths
    result = writer.ingest(paths, prune=prune, confine_to=roots)
    return IngestResponse.model_validate(
        {
            **_write_result(result.report).model_dump(),
            "documents_seen": result.documents_seen,
            "skipped": [{"path": path, "reason": reason} for path, reason in result.skipped],
            "files": [asdict(file) for file in result.files],
        }
    )


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
