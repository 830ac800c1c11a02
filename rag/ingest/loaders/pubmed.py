"""PubMed records: PubMed XML (`PubmedArticleSet`, `.xml`) and MEDLINE text (`.nbib`, or `.txt`
starting with `PMID-`), as PubMed's "Save" and citation managers export them.

Each article becomes one document `pmid-<PMID>` with its title, authors, journal, year, DOI
and MeSH terms; its source is the PubMed page. A structured abstract keeps its labels
("RESULTS: ..."), one paragraph each, so chunks and citations know their section. Articles
without an abstract are refused (with the reason) while the rest of the file loads.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from rag.documents import Document
from rag.errors import DocumentError
from rag.ingest.loaders.base import ParsedFile, decode_text, make_document, normalize_space, publication_year

MEDLINE_START = re.compile(r"\A\s*PMID- ?\d+")
MEDLINE_TAG = re.compile(r"^([A-Z]{2,4}) {0,3}- ?(.*)$")
# "BACKGROUND: ... METHODS: ..." inside a MEDLINE abstract.
INLINE_LABEL = re.compile(r"(?:^|(?<=[.?!]) )([A-Z][A-Z ,&/()-]{2,60}): ")
PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{}/"


def is_medline(text: str) -> bool:
    return bool(MEDLINE_START.match(text))


class PubmedXmlLoader:
    name = "pubmed-xml"
    suffixes = (".xml",)

    def parse(self, data: bytes, path: Path, default_id: str) -> ParsedFile:
        from defusedxml import DefusedXmlException
        from defusedxml.ElementTree import fromstring

        origin = str(path)
        try:
            root = fromstring(data)
        except ParseError as exc:
            raise DocumentError(f"{origin} is not well-formed XML ({exc})") from exc
        except DefusedXmlException as exc:
            raise DocumentError(
                f"{origin} declares XML entities, which are refused for safety ({exc})"
            ) from exc
        if root.tag != "PubmedArticleSet":
            raise DocumentError(
                f"{origin} is XML but not a PubMed export (root <{root.tag}>)",
                "save PubMed results as XML (a <PubmedArticleSet>)",
            )
        parsed = ParsedFile()
        for book in root.findall("PubmedBookArticle"):
            parsed.refused.append(
                f"book record {book.findtext('.//PMID') or '?'}: book chapters are not read"
            )
        for number, article in enumerate(root.findall("PubmedArticle"), start=1):
            _add(parsed, _xml_article, article, f"{origin}:{number}")
        if not parsed.documents and not parsed.refused:
            raise DocumentError(f"{origin} holds no PubMed articles")
        return parsed


class MedlineLoader:
    name = "medline"
    suffixes = (".nbib", ".medline")

    def parse(self, data: bytes, path: Path, default_id: str) -> ParsedFile:
        origin = str(path)
        text = decode_text(data, origin)
        if not is_medline(text):
            raise DocumentError(f"{origin} is not MEDLINE text (it must start with a PMID- line)")
        parsed = ParsedFile()
        for number, record in enumerate(medline_records(text), start=1):
            _add(parsed, _medline_article, record, f"{origin}:{number}")
        return parsed


def _add(parsed: ParsedFile, build: Callable[..., Document], *args: Any) -> None:
    try:
        parsed.documents.append(build(*args))
    except DocumentError as exc:
        parsed.refused.append(exc.message)


def _article_document(
    fields: dict[str, Any], sections: list[tuple[str | None, str]], origin: str
) -> Document:
    pmid = fields["pmid"]
    if not pmid or not pmid.isdigit():
        raise DocumentError(f"{origin}: the record has no PMID")
    paragraphs = [f"{label}: {text}" if label else text for label, text in sections if text]
    if not paragraphs:
        raise DocumentError(f"PMID {pmid} has no abstract; only its title would be searchable")
    record = {
        "doc_id": f"pmid-{pmid}",
        "text": "\n\n".join(paragraphs),
        "source": PUBMED_URL.format(pmid),
        **{key: value for key, value in fields.items() if value},
    }
    return make_document(record, f"pmid-{pmid}", origin)


def _text(element: Element | None) -> str:
    return normalize_space("".join(element.itertext())) if element is not None else ""


def _xml_article(article: Element, origin: str) -> Document:
    citation = article.find("MedlineCitation")
    body = citation.find("Article") if citation is not None else None
    if citation is None or body is None:
        raise DocumentError(f"{origin}: no MedlineCitation/Article element")
    authors = []
    for author in body.findall("AuthorList/Author"):
        name = " ".join(filter(None, [author.findtext("LastName"), author.findtext("Initials")]))
        authors.append(name or _text(author.find("CollectiveName")))
    issue_date = body.find("Journal/JournalIssue/PubDate")
    year_text = ""
    if issue_date is not None:
        year_text = issue_date.findtext("Year") or issue_date.findtext("MedlineDate") or ""
    year_text = year_text or body.findtext("ArticleDate/Year") or ""
    doi = next(
        (
            _text(e)
            for e in [*article.findall("PubmedData/ArticleIdList/ArticleId"), *body.findall("ELocationID")]
            if (e.get("IdType") or e.get("EIdType")) == "doi"
        ),
        None,
    )
    sections = [
        (_label(abstract.get("Label") or abstract.get("NlmCategory")), _text(abstract))
        for abstract in body.findall("Abstract/AbstractText")
    ]
    fields = {
        "pmid": (citation.findtext("PMID") or "").strip(),
        "title": _title(_text(body.find("ArticleTitle"))),
        "authors": ", ".join(a for a in authors if a) or None,
        "journal": _text(body.find("Journal/Title")) or _text(body.find("Journal/ISOAbbreviation")) or None,
        "year": publication_year(year_text),
        "doi": doi,
        "mesh": [_text(h.find("DescriptorName")) for h in citation.findall("MeshHeadingList/MeshHeading")],
        "keywords": [_text(k) for k in citation.findall("KeywordList/Keyword")],
    }
    return _article_document(fields, sections, origin)


def _label(label: str | None) -> str | None:
    if not label or label.upper() == "UNLABELLED":
        return None
    return " ".join(label.upper().split())


def _title(title: str) -> str:
    # PubMed ends titles with a period ("[Translated title]." included); a question mark stays.
    return title[:-1] if title.endswith(".") else title


def medline_records(text: str) -> list[dict[str, list[str]]]:
    """Each record's tags and their values (a tag can repeat: AU, MH, AID)."""
    records: list[dict[str, list[str]]] = []
    last: list[str] | None = None
    for line in text.split("\n"):
        if not line.strip():
            continue
        if line.startswith("      ") and last is not None:
            last[-1] = f"{last[-1]} {line.strip()}"
            continue
        match = MEDLINE_TAG.match(line)
        if match is None:
            continue  # a stray line between records
        tag, value = match.group(1), match.group(2).strip()
        if tag == "PMID":
            records.append({})
        if not records:
            continue
        last = records[-1].setdefault(tag, [])
        last.append(value)
    return records


def _medline_article(record: dict[str, list[str]], origin: str) -> Document:
    def first(tag: str) -> str:
        return record.get(tag, [""])[0]

    ids = record.get("AID", []) + record.get("LID", [])
    doi = next((value.removesuffix("[doi]").strip() for value in ids if value.endswith("[doi]")), None)
    fields = {
        "pmid": first("PMID"),
        "title": _title(normalize_space(first("TI"))),
        "authors": ", ".join(record.get("AU", []) or record.get("FAU", [])) or None,
        "journal": first("JT") or first("TA") or None,
        "year": publication_year(first("DP")),
        "doi": doi,
        "mesh": record.get("MH", []),
        "keywords": record.get("OT", []),
    }
    return _article_document(fields, labelled_sections(normalize_space(first("AB"))), origin)


def labelled_sections(abstract: str) -> list[tuple[str | None, str]]:
    """A MEDLINE abstract split at its labels: [("BACKGROUND", "..."), ("RESULTS", "...")]."""
    matches = list(INLINE_LABEL.finditer(abstract))
    if not matches:
        return [(None, abstract)] if abstract else []
    sections: list[tuple[str | None, str]] = []
    if matches[0].start() > 0:
        sections.append((None, abstract[: matches[0].start()].strip()))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(abstract)
        sections.append((_label(match.group(1)), abstract[match.end() : end].strip()))
    return sections
