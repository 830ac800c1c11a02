"""Token-aware chunking with the embedding model's own tokenizer.

Chunks follow sentence boundaries where they can (langchain's recursive splitter with
paragraph, line, sentence, clause and word separators) and never exceed the model's maximum
sequence length once the title prefix and the special tokens are added: every chunk is
measured with the real tokenizer after splitting and split again if it would be truncated.
"""

from __future__ import annotations

import bisect
import itertools
from typing import Protocol

from rag.documents import Chunk, Document, Span, page_breaks
from rag.errors import ConfigurationError
from rag.settings import ChunkingSettings
from rag.text import split_sentences

# Paragraph, line, sentence end, clause, word, character: the splitter tries them in order.
SEPARATORS = ["\n\n", "\n", r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])", r"(?<=[;:])\s+", r"(?<=,)\s+", r"\s+", ""]
MIN_SENTENCE_CHARS = 3
# Texts longer than this are counted a window at a time. One tokenizer call holds the GIL
# throughout: over a 10 MB text it took 15 s, long enough for uvicorn's supervisor (5 s ping)
# to kill the server worker doing it. A window takes ~30 ms.
COUNT_WINDOW_CHARS = 20_000
Block = tuple[int, int, "str | None"]  # (start, end, section name) of a run of text


class Tokenizer(Protocol):
    """What chunking needs from the embedding model."""

    @property
    def max_seq_length(self) -> int: ...

    def count_tokens(self, text: str) -> int:
        """Word pieces of `text` as the model sees it, special tokens included."""
        ...

    def count_pieces(self, text: str) -> int:
        """Word pieces of `text` alone, without special tokens."""
        ...


class Chunker:
    def __init__(self, tokenizer: Tokenizer, settings: ChunkingSettings) -> None:
        self._tokenizer = tokenizer
        self._settings = settings
        self._special = tokenizer.count_tokens("")
        self._limit = min(settings.chunk_tokens, tokenizer.max_seq_length)
        if self._limit - self._special - settings.max_title_tokens < 16:
            raise ConfigurationError(
                f"chunk_tokens={settings.chunk_tokens} leaves no room for text after a title of "
                f"up to {settings.max_title_tokens} word pieces",
                "raise RAG_CHUNKING__CHUNK_TOKENS or lower RAG_CHUNKING__MAX_TITLE_TOKENS",
            )

    def prefix(self, title: str) -> str:
        """The title line prepended to each chunk for embedding, cut to max_title_tokens."""
        if not self._settings.title_prefix or not title:
            return ""
        words = title.split()
        while words and self._tokenizer.count_pieces(" ".join(words)) > self._settings.max_title_tokens:
            words.pop()
        return " ".join(words) + "\n" if words else ""

    def chunk(self, doc: Document) -> list[Chunk]:
        prefix = self.prefix(doc.title)
        budget = self._limit - self._special - self._tokenizer.count_pieces(prefix)
        sentences = document_sentences(doc)
        chunks: list[Chunk] = []
        for block_start, block_end, section in self._blocks(doc, sentences):
            for start, end in self._split(doc.text, block_start, block_end, budget, prefix):
                text = doc.text[start:end]
                ordinal = len(chunks)
                within = _sentences_within(sentences, start, end)
                chunks.append(
                    Chunk(
                        chunk_id=f"{doc.doc_id}#{ordinal}",
                        doc_id=doc.doc_id,
                        ordinal=ordinal,
                        start=start,
                        end=end,
                        text=text,
                        embed_text=prefix + text,
                        sentences=within,
                        sections=_section_breaks(text, within, section),
                        page_breaks=page_breaks(doc.page_starts, start, end),
                    )
                )
        return chunks

    def _blocks(self, doc: Document, sentences: list[Span]) -> list[Block]:
        """The document cut at its section boundaries, each block with its section's name. A
        section shorter than min_section_tokens joins the next one (the last joins the previous),
        so chunks follow sections that can stand alone and short ones are not left orphaned."""
        starts = section_starts(doc, sentences)
        blocks = [
            (start, end, name)
            for (start, name), (end, _) in zip(starts, [*starts[1:], (len(doc.text), None)], strict=True)
            if doc.text[start:end].strip()
        ]
        merged: list[Block] = []
        carry: Block | None = None
        for block in blocks:
            current = _joined(carry, block) if carry is not None else block
            carry = None
            minimum = self._settings.min_section_tokens
            if self._count_up_to(doc.text[current[0] : current[1]], minimum) < minimum:
                carry = current
            else:
                merged.append(current)
        if carry is not None:
            merged.append(_joined(merged.pop(), carry) if merged else carry)
        return merged or [(0, len(doc.text), None)]

    def _split(self, text: str, start: int, end: int, budget: int, prefix: str) -> list[tuple[int, int]]:
        """Spans of text[start:end] that fit the model once the prefix is added."""
        # Imported here: a server worker that only answers questions never chunks (0.2 s less start-up).
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        overlap = min(self._settings.overlap_tokens, budget // 4)
        splitter = RecursiveCharacterTextSplitter(
            separators=SEPARATORS,
            is_separator_regex=True,
            keep_separator="end",
            chunk_size=budget,
            chunk_overlap=overlap,
            length_function=lambda piece: self._count_up_to(piece, budget),
            strip_whitespace=True,
        )
        spans: list[tuple[int, int]] = []
        cursor, previous_end = start, start
        for piece in splitter.split_text(text[start:end]):
            found = self._locate(text, piece, (cursor, end), previous_end, overlap)
            if found < 0:  # cannot happen for a splitter that only cuts, but never guess offsets
                raise ConfigurationError(
                    f"text splitter returned text not found in the document: {piece[:60]!r}"
                )
            piece_end = found + len(piece)
            if self._tokenizer.count_tokens(prefix + piece) > self._tokenizer.max_seq_length:
                # Word pieces do not add up exactly across joins; split this piece finer.
                spans.extend(self._split(text, found, piece_end, max(8, budget * 3 // 4), prefix))
            else:
                spans.append((found, piece_end))
            cursor, previous_end = found + 1, piece_end
        return spans

    def _count_up_to(self, text: str, enough: int) -> int:
        """Word pieces of `text`, exactly for a text up to COUNT_WINDOW_CHARS; a longer one is
        counted window by window (cut at whitespace) until the count reaches `enough`, so the
        result is then a lower bound that is at least `enough`."""
        if len(text) <= COUNT_WINDOW_CHARS:
            return self._tokenizer.count_pieces(text)
        total, start = 0, 0
        while start < len(text) and total < enough:
            end = min(len(text), start + COUNT_WINDOW_CHARS)
            if end < len(text):
                space = text.rfind(" ", start + COUNT_WINDOW_CHARS // 2, end)
                end = space if space > 0 else end
            total += self._tokenizer.count_pieces(text[start:end])
            start = end
        return total

    def _locate(self, text: str, piece: str, window: tuple[int, int], previous_end: int, overlap: int) -> int:
        """Where the splitter's next piece starts in text[window]. A repeated passage occurs more
        than once: the right occurrence brings new text and shares at most `overlap` word pieces
        with the previous piece; failing that, the first occurrence that brings new text."""
        fallback = -1
        found = text.find(piece, *window)
        while found >= 0:
            if found + len(piece) > previous_end:
                if found >= previous_end or self._tokenizer.count_pieces(text[found:previous_end]) <= overlap:
                    return found
                if fallback < 0:
                    fallback = found
            found = text.find(piece, found + 1, window[1])
        return fallback


def document_sentences(doc: Document) -> list[Span]:
    """The document's sentences; where it names its sections (HTML headings), those names."""
    sentences = split_sentences(doc.text)
    if not doc.sections:
        return sentences
    sections = sorted(doc.sections, key=lambda section: section[0])  # loaders give them in order
    offsets = [offset for offset, _ in sections]
    named = []
    for span in sentences:
        at = bisect.bisect_right(offsets, span.start) - 1
        named.append(Span(span.start, span.end, sections[at][1] if at >= 0 else None))
    return named


def section_starts(doc: Document, sentences: list[Span]) -> list[tuple[int, str | None]]:
    """(offset, name) of each section; a labelled section ("RESULTS: ...") starts at its line."""
    if doc.sections:
        starts: list[tuple[int, str | None]] = [
            (offset, name) for offset, name in doc.sections if 0 <= offset < len(doc.text)
        ]
        return [(0, None), *starts] if not starts or starts[0][0] > 0 else starts
    found: list[tuple[int, str | None]] = [(0, sentences[0].section if sentences else None)]
    for previous, span in itertools.pairwise(sentences):
        if span.section != previous.section:
            line_start = doc.text.rfind("\n", 0, span.start) + 1
            found.append((max(line_start, previous.end), span.section))
    return found


def _section_breaks(
    text: str, sentences: tuple[Span, ...], block_section: str | None
) -> tuple[tuple[int, str | None], ...]:
    """(offset, name) where each section inside a chunk begins; a chunk never splits a sentence,
    so its sentences' sections say it (a labelled section, "RESULTS: ...", from its label on).
    Without sentences, the block's section holds throughout."""
    if not sentences:
        return ((0, block_section),)
    breaks: list[tuple[int, str | None]] = [(0, sentences[0].section)]
    for previous, span in itertools.pairwise(sentences):
        if span.section != breaks[-1][1]:
            line_start = text.rfind("\n", 0, span.start) + 1
            breaks.append((max(line_start, previous.end), span.section))
    return tuple(breaks)


def _joined(first: Block, second: Block) -> Block:
    """Two adjacent blocks as one, named after the longer."""
    name = first[2] if first[1] - first[0] >= second[1] - second[0] else second[2]
    return first[0], second[1], name


def _sentences_within(sentences: list[Span], start: int, end: int) -> tuple[Span, ...]:
    """Sentences of the document clipped to [start, end), as offsets into the chunk. The
    sentences are in order and do not overlap: the search starts at the first one ending
    after `start` (a scan of all of them per chunk made a 10 MB file take hours)."""
    inside = []
    first = bisect.bisect_right(sentences, start, key=lambda span: span.end)
    for span in itertools.islice(sentences, first, None):
        if span.start >= end:
            break
        a, b = max(span.start, start), min(span.end, end)
        if b - a >= MIN_SENTENCE_CHARS:
            inside.append(Span(a - start, b - start, span.section))
    return tuple(inside)
