"""References as CSL-JSON, the input format of citeproc processors (Zotero, Pandoc, Mendeley):
a JSON array of items with `id`, `type`, `title`, `author` ([{family, given}] or [{literal}]),
`container-title`, `issued` {date-parts}, `volume`, `issue`, `page`, `DOI`, `PMID`, `URL`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rag.cite.names import Name
from rag.cite.reference import Reference


def to_csl_json(references: Sequence[Reference]) -> str:
    return json.dumps([csl_item(reference) for reference in references], ensure_ascii=False, indent=2) + "\n"


def csl_item(reference: Reference) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": reference.key,
        "type": "article-journal" if reference.kind == "article" else "document",
        "title": reference.title,
        "author": [_name(name) for name in reference.authors],
        "container-title": reference.journal,
        "issued": {"date-parts": [[reference.year]]} if reference.year is not None else None,
        "volume": reference.volume,
        "issue": reference.issue,
        "page": reference.pages,
        "DOI": reference.doi,
        "PMID": reference.pmid,
        "URL": reference.url,
        "note": reference.note,
        "keyword": ", ".join(reference.keywords),
    }
    return {name: value for name, value in item.items() if value}


def _name(name: Name) -> dict[str, str]:
    if name.literal is not None:
        return {"literal": name.literal}
    fields = {"family": name.family, "given": name.given, "suffix": name.suffix}
    return {key: value for key, value in fields.items() if value}
