"""Token-aware chunking with the embedding model's own tokenizer.

Chunks follow sentence boundaries where they can (langchain's recursive splitter with
paragraph, line, sentence, clause and word separators) and never exceed the model's maximum
sequence length once the title prefix and the special tokens are added: every chunk is
measured with the real tokenizer after splitting and split again if it would be truncated.
"""

from __future__ import annotations

from typing import Protocol

from rag.documents import Chunk, Document, Span
from rag.errors import ConfigurationError
from rag.settings import ChunkingSettings
from rag.text import split_sentences

# Paragraph, line, sentence end, clause, word, character: the splitter tries them in order.
SEPARATORS = ["\n\n", "\n", r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])", r"(?<=[;:])\s+", r"(?<=,)\s+", r"\s+", ""]
MIN_SENTENCE_CHARS = 3


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
        spans = self._split(doc.text, 0, len(doc.text), budget, prefix)
        sentences = split_sentences(doc.text)
        chunks = []
        for ordinal, (start, end) in enumerate(spans):
            text = doc.text[start:end]
            chunks.append(
                Chunk(
                    chunk_id=f"{doc.doc_id}#{ordinal}",
                    doc_id=doc.doc_id,
                    ordinal=ordinal,
                    start=start,
                    end=end,
                    text=text,
                    embed_text=prefix + text,
                    sentences=_sentences_within(sentences, start, end),
                )
            )
        return chunks

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
            length_function=self._tokenizer.count_pieces,
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


def _sentences_within(sentences: list[Span], start: int, end: int) -> tuple[Span, ...]:
    """Sentences of the document clipped to [start, end), as offsets into the chunk."""
    inside = []
    for span in sentences:
        a, b = max(span.start, start), min(span.end, end)
        if b - a >= MIN_SENTENCE_CHARS:
            inside.append(Span(a - start, b - start, span.section))
    return tuple(inside)
