"""GET /documents/{doc_id}/cite and GET /cite: documents' references for a reference manager."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from api.deps import PipelineDep
from api.schemas import ErrorBody
from rag.cite import FORMATS, export
from rag.limits import MAX_CITE_DOCUMENTS
from rag.pipeline import Pipeline

router = APIRouter(tags=["documents"])
FormatParam = Annotated[
    str,
    Query(
        alias="format",
        max_length=40,
        description=f"One of {', '.join(FORMATS)}.",
        json_schema_extra={"enum": list(FORMATS)},
    ),
]
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {f"{f.media_type}; charset=utf-8": {} for f in FORMATS.values()},
        "description": "The references, as an attachment (`Content-Disposition`).",
    },
    404: {"model": ErrorBody, "description": "An unknown doc_id"},
    422: {"model": ErrorBody, "description": "An unknown format, or too many doc_ids"},
}


@router.get("/documents/{doc_id}/cite", response_class=Response, responses=RESPONSES)
def cite_document(doc_id: str, pipeline: PipelineDep, format_: FormatParam = "bibtex") -> Response:
    """The document's reference as BibTeX, RIS or CSL-JSON, for a reference manager."""
    return _references(pipeline, [doc_id], format_, re.sub(r"[^A-Za-z0-9._-]", "-", doc_id))


@router.get("/cite", response_class=Response, responses=RESPONSES)
def cite_documents(
    pipeline: PipelineDep,
    doc_ids: Annotated[
        list[Annotated[str, Query(min_length=1, max_length=200)]],
        Query(
            min_length=1,
            max_length=MAX_CITE_DOCUMENTS,
            description="The documents, in the order wanted (`?doc_ids=a&doc_ids=b`): the sources of "
            "an answer are its `citations[].doc_id`.",
        ),
    ],
    format_: FormatParam = "bibtex",
) -> Response:
    """Several documents' references in one file (each with its own citation key)."""
    return _references(pipeline, list(dict.fromkeys(doc_ids)), format_, "references")


def _references(pipeline: Pipeline, doc_ids: Sequence[str], format_name: str, file_stem: str) -> Response:
    citation_format = FORMATS.get(format_name)
    if citation_format is None:
        message = f"unknown citation format {format_name!r}: ask for one of {', '.join(FORMATS)}"
        raise RequestValidationError([{"loc": ("query", "format"), "msg": message, "type": "value_error"}])
    if len(doc_ids) > 1:
        pipeline.check_documents(doc_ids)  # 404 naming every unknown id (one: as GET /documents/{id})
    text = export([pipeline.document(doc_id) for doc_id in doc_ids], citation_format.name)
    return Response(
        text,
        media_type=f"{citation_format.media_type}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{file_stem}{citation_format.suffix}"'},
    )
