"""Turn the seed files in ../shared/seeds/ into corpus/*.md, one file per publication.

Run with `make corpus` (or `python scripts/build_corpus.py [SEEDS_DIR] [CORPUS_DIR]`).
The output is deterministic: running it twice gives byte-identical files.

Each output file is Markdown with YAML front matter (title, authors, journal, year,
source, ...), the same format a user can write by hand. Site navigation, footers,
repeated table/figure blocks and reference lists are removed from the answerable text;
a reference list is kept in the front matter under `references`, which is not indexed.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEEDS = ROOT.parent / "shared" / "seeds"
DEFAULT_CORPUS = ROOT / "corpus"

LISTING_SOURCE = (
    "CancerIndex.org, Sorafenib (Nexavar): Latest Research Publications (page last updated 07 March 2017)"
)
JOURNAL_LINE = re.compile(r"^(?P<journal>.+?)\.\s+(?P<year>(19|20)\d\d)\b(?P<rest>.*)\[PubMed\]")
STOPWORDS = {
    "a",
    "an",
    "the",
    "of",
    "in",
    "on",
    "and",
    "or",
    "for",
    "to",
    "with",
    "by",
    "at",
    "from",
    "as",
    "is",
    "are",
    "its",
    "after",
    "versus",
    "vs",
    "via",
    "into",
    "during",
    "their",
    "who",
}


@dataclass
class Publication:
    title: str
    body: str
    seed: str
    authors: str | None = None
    journal: str | None = None
    year: int | None = None
    citation: str | None = None
    source: str | None = None
    doc_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def slugify(text: str, max_words: int = 5) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = [w for w in re.findall(r"[a-z0-9]+", ascii_text.lower()) if w not in STOPWORDS]
    return "-".join(words[:max_words])


def make_doc_id(pub: Publication) -> str:
    # First author's surname, or the journal's first word for an unsigned piece.
    lead = pub.authors.split(",")[0].split()[0] if pub.authors else (pub.journal or "").split(" ")[0]
    parts = [slugify(lead, 1)] if lead else []
    if pub.year:
        parts.append(str(pub.year))
    parts.append(slugify(pub.title, 4))
    return "-".join(p for p in parts if p)


# --- 002: a listing page of ~30 publications -------------------------------------------


def parse_listing(text: str, seed: str) -> list[Publication]:
    """Each entry is: [author line], title line, journal line with [PubMed], abstract lines.

    Entries are separated by blank lines; the page header (navigation) precedes the first
    journal line's entry and the footer follows the last abstract.
    """
    lines = text.splitlines()
    pubs: list[Publication] = []
    journal_idx = [i for i, line in enumerate(lines) if JOURNAL_LINE.match(line.strip())]
    for n, j in enumerate(journal_idx):
        match = JOURNAL_LINE.match(lines[j].strip())
        assert match is not None
        title = lines[j - 1].strip()
        # One listing entry (Prescrire Int.) has no author line: a blank line precedes its title.
        author_line = lines[j - 2].strip() if j >= 2 else ""
        authors = author_line or None
        end = journal_idx[n + 1] - 2 if n + 1 < len(journal_idx) else len(lines)
        body_lines: list[str] = []
        for line in lines[j + 1 : end]:
            if not line.strip():
                break  # the blank line that closes the abstract; the footer follows the last one
            body_lines.append(line.strip())
        rest = match.group("rest").strip().lstrip(";").strip()
        pubs.append(
            Publication(
                title=title,
                body="\n".join(body_lines),
                seed=seed,
                authors=authors,
                journal=match.group("journal").strip(),
                year=int(match.group("year")),
                citation=f"{match.group('journal').strip()}. {match.group('year')}; {rest}".rstrip("; "),
                source=LISTING_SOURCE,
            )
        )
    return pubs


# --- 003: a full-text article page with duplicated blocks and a reference list ----------

PAGE_NOISE_003 = {
    "Close modal",
    "Supplemental data",
    "Sign in via your Institution",
    "*",
}


def drop_repeated_runs(lines: list[str], min_run: int = 3) -> list[str]:
    """Remove a run of lines that immediately repeats the run before it (a duplicated table)."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        out.append(lines[i])
        i += 1
        for size in range(len(out) // 2, min_run - 1, -1):
            if out[-size:] == lines[i : i + size] and any(s.strip() for s in out[-size:]):
                i += size
                break
    return out


def split_references(lines: list[str]) -> tuple[list[str], list[str]]:
    """Split off a trailing numbered reference list ("1", author lines, ..., "2", ...)."""
    for i, line in enumerate(lines):
        if line.strip() == "1" and i + 1 < len(lines) and re.match(r"^[A-Z][\w'-]+$", lines[i + 1].strip()):
            refs_raw = lines[i:]
            references: list[str] = []
            current: list[str] = []
            expected = 1
            for raw in refs_raw:
                token = raw.strip()
                if token == str(expected):
                    if current:
                        references.append(current_to_text(current))
                    current = []
                    expected += 1
                elif token in PAGE_NOISE_003:
                    continue
                elif token:
                    current.append(token)
            if current:
                references.append(current_to_text(current))
            return lines[:i], references
    return lines, []


def current_to_text(tokens: list[str]) -> str:
    """Format one reference: surname/initials token pairs, then ", et al." and the title."""
    title_at = next((i for i, t in enumerate(tokens) if " " in t and t not in (", et al.",)), len(tokens))
    names = [t for t in tokens[:title_at] if t != ", et al."]
    pairs = [
        f"{names[k]} {names[k + 1]}" if k + 1 < len(names) else names[k] for k in range(0, len(names), 2)
    ]
    authors = ", ".join(pairs) + (", et al." if ", et al." in tokens[:title_at] else ".")
    text = authors + " " + " ".join(tokens[title_at:])
    text = re.sub(r"\s+([,.;)])", r"\1", text)
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r"\s*-\s*(?=\d)", "-", text)
    return re.sub(r"\s+", " ", text).strip()


# A superscript reference number glued to the text it cites, as the page's text export
# leaves it: "prognosis.1  In", "FLT3-ITD,11  suggesting", "criteria14 :", "cancer10  but".
INLINE_CITATION = re.compile(
    r"(?<=[A-Za-z.,)])(\d{1,2}(?:[,-]\d{1,2})*)(?:(?=  )| (?=:)|(?=:)|\s*$)", re.MULTILINE
)


def parse_article_003(text: str, seed: str) -> Publication:
    lines = [re.sub(r" {2,}", " ", INLINE_CITATION.sub("", line)).strip() for line in text.splitlines()]
    lines, references = split_references(lines)
    lines = drop_repeated_runs(lines)
    # Paragraph-level duplicates (the figure legend appears twice, separated by a blank line).
    paragraphs = [p.strip() for p in "\n".join(lines).split("\n\n")]
    seen: set[str] = set()
    kept: list[str] = []
    for para in paragraphs:
        if not para or para in PAGE_NOISE_003 or para in seen:
            continue
        if para.startswith("The publication costs of this article were defrayed"):
            continue  # legal boilerplate of the publisher, not content
        seen.add(para)
        kept.append(para)
    return Publication(
        # The seed page carries no title block; this bibliographic record matches the
        # contribution initials (S.M., Y.W., E.W., M.W., S.T., A.C., M.E., E.E., A.N., A.B.).
        title=(
            "Compassionate use of sorafenib in FLT3-ITD-positive acute myeloid leukemia: "
            "sustained regression before and after allogeneic stem cell transplantation"
        ),
        authors="Metzelder S, Wang Y, Wollmer E, et al.",
        journal="Blood",
        year=2009,
        citation="Blood. 2009; 113(26):6567-71",
        body="\n\n".join(kept),
        seed=seed,
        extra={"references": references},
    )


# --- 000, 001, 004: single abstracts --------------------------------------------------


def parse_abstract_000(text: str, seed: str) -> Publication:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    title = lines[0]
    body = "\n".join(lines[1:])
    number = re.match(r"^(e\d+)\s+", body)
    if number:
        body = body[number.end() :]
    # The abstract runs its section labels into the text ("... MM. METHODS SWOG ...").
    body = re.sub(r"^Background:\s*", "BACKGROUND: ", body)
    for label in ("METHODS", "RESULTS", "CONCLUSIONS"):
        body = body.replace(f" {label} ", f"\n{label}: ", 1)
    return Publication(
        title=title,
        body=body,
        seed=seed,
        extra={"abstract_number": number.group(1)} if number else {},
        doc_id="swog-s0434-sorafenib-multiple-myeloma",
    )


def parse_abstract_001(text: str, seed: str) -> Publication:
    blocks = [b.strip() for b in text.strip().split("\n\n") if b.strip()]
    keywords = [re.sub(r"^[•\s]+|;$", "", k).strip() for k in blocks[0].splitlines()]
    body_blocks = blocks[1:]
    labels = ["BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"]
    body = "\n".join(f"{label}: {block}" for label, block in zip(labels, body_blocks, strict=True))
    copyright_note = re.search(r"\s*Cancer 2010\. © 2010 American Cancer Society\.\s*$", body)
    if copyright_note:
        body = body[: copyright_note.start()]
    return Publication(
        # The seed has no title line; this one is written from its keywords and abstract.
        title=(
            "Sorafenib in metastatic renal cell carcinoma refractory to bevacizumab or sunitinib: "
            "a phase 2 study"
        ),
        body=body,
        seed=seed,
        journal="Cancer",
        year=2010,
        extra={"keywords": keywords},
        doc_id="sorafenib-mrcc-refractory-bevacizumab-sunitinib",
    )


FOOTER_004 = (
    "Like Comment",
    "Get PDF with LibKey",
    "View the article @",
    "The wider, wiser view",
    "Contributions",
    "Following",
)


def parse_abstract_004(text: str, seed: str) -> Publication:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    title = lines[0]
    body_lines = [line for line in lines[1:] if not any(marker in line for marker in FOOTER_004)]
    body = "\n".join(body_lines)
    body = body.replace(" This article is protected by copyright. All rights reserved.", "")
    journal = re.search(r"View the article @ (.+?) \(", text)
    return Publication(
        title=title,
        body=body,
        seed=seed,
        journal=journal.group(1).strip().title().replace("Of", "of") if journal else None,
        doc_id="sorafenib-gcsf-plerixafor-flt3-itd-aml-phase-1",
    )


PARSERS = {
    "000_": lambda t, s: [parse_abstract_000(t, s)],
    "001_": lambda t, s: [parse_abstract_001(t, s)],
    "002_": parse_listing,
    "003_": lambda t, s: [parse_article_003(t, s)],
    "004_": lambda t, s: [parse_abstract_004(t, s)],
}


def to_markdown(pub: Publication) -> str:
    meta: dict[str, Any] = {"doc_id": pub.doc_id, "title": pub.title}
    for key in ("authors", "journal", "year", "citation", "source"):
        value = getattr(pub, key)
        if value is not None:
            meta[key] = value
    meta["seed"] = pub.seed
    meta.update(pub.extra)
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100)
    return f"---\n{front}---\n\n{pub.body.strip()}\n"


def build(seeds_dir: Path, corpus_dir: Path) -> list[Path]:
    if not seeds_dir.is_dir():
        raise SystemExit(f"seeds directory not found: {seeds_dir}")
    pubs: list[Publication] = []
    for path in sorted(seeds_dir.glob("*.txt")):
        parser = next((p for prefix, p in PARSERS.items() if path.name.startswith(prefix)), None)
        if parser is None:
            raise SystemExit(f"no parser for seed {path.name}; add one to scripts/build_corpus.py")
        # Non-breaking spaces carry no meaning here and hide double spaces from the cleaners.
        text = path.read_text(encoding="utf-8").replace("\u00a0", " ")
        pubs.extend(parser(text, path.name))
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for old in corpus_dir.glob("*.md"):
        old.unlink()
    written: list[Path] = []
    used: set[str] = set()
    for pub in pubs:
        pub.doc_id = pub.doc_id or make_doc_id(pub)
        if pub.doc_id in used:
            raise SystemExit(f"duplicate doc_id {pub.doc_id}")
        used.add(pub.doc_id)
        out = corpus_dir / f"{pub.doc_id}.md"
        out.write_text(to_markdown(pub), encoding="utf-8")
        written.append(out)
    return written


def main(argv: list[str]) -> None:
    seeds = Path(argv[1]) if len(argv) > 1 else DEFAULT_SEEDS
    corpus = Path(argv[2]) if len(argv) > 2 else DEFAULT_CORPUS
    written = build(seeds, corpus)
    print(f"wrote {len(written)} documents to {corpus}")


if __name__ == "__main__":
    main(sys.argv)
