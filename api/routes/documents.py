"""GET /documents and GET /documents/{doc_id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PipelineDep
from api.schemas import DocumentDetail, DocumentList, ErrorBody
from rag.serialize import document_dict, summary_dict

router = APIRouter(tags=["documents"])


@router.get("/documents", response_model=DocumentList)
def list_documents(
    pipeline: PipelineDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
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
