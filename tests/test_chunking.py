"""Chunks never exceed the model's maximum sequence length: nothing is truncated at embedding time."""

from __future__ import annotations

import pytest

from rag.documents import Document
from rag.embed import Embedder
from rag.embed.torch import SentenceTransformerEmbedder
from rag.errors import ConfigurationError
from rag.ingest.chunking import COUNT_WINDOW_CHARS, Chunker
from rag.ingest.loaders import load_paths
from rag.settings import ChunkingSettings
from rag.testing import FakeEmbedder
from tests.conftest import CORPUS

pytestmark = pytest.mark.integration

HARD_CASES = [
    Document("one-long-sentence", "Short", " ".join(f"word{i}" for i in range(3000)) + "."),
    Document("no-spaces", "T", "x" * 20000),
    Document("long-title", "A very long title " * 60, "Sentence one is here. " * 400),
    Document("unicode", "Ünïcödé", "Dose 400 mg ≥ 2× daily; α-fetoprotein ≤ 35 ng/ml, 10μg/mL. " * 300),
    Document("tiny", "Tiny", "Ok."),
]


def check_chunks(chunker: Chunker, reference: SentenceTransformerEmbedder, doc: Document) -> None:
    """Every chunk fits the model, counted by sentence-transformers' own tokenizer."""
    chunks = chunker.chunk(doc)
    assert chunks, doc.doc_id
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        tokens = reference.count_tokens(chunk.embed_text)
        assert tokens <= reference.max_seq_length, (doc.doc_id, chunk.ordinal, tokens)
        for span in chunk.sentences:
            assert 0 <= span.start < span.end <= len(chunk.text)
    covered = "".join(doc.text[c.start : c.end] for c in chunks)
    assert all(word in covered for word in doc.text.split()[:50])


@pytest.mark.parametrize("chunk_tokens", [64, 256, 512])
def test_no_chunk_is_truncated(
    real_embedder: Embedder, torch_embedder: SentenceTransformerEmbedder, chunk_tokens: int
) -> None:
    settings = ChunkingSettings(
        chunk_tokens=chunk_tokens, overlap_tokens=16, max_title_tokens=min(48, chunk_tokens // 2)
    )
    chunker = Chunker(real_embedder, settings)
    for doc in load_paths([CORPUS]).documents + HARD_CASES:
        check_chunks(chunker, torch_embedder, doc)


def test_what_the_model_sees_is_the_whole_chunk(
    real_embedder: Embedder, torch_embedder: SentenceTransformerEmbedder
) -> None:
    """Embedding a chunk equals embedding it with truncation disabled: nothing was cut."""
    chunker = Chunker(real_embedder, ChunkingSettings())
    chunk = max(
        (c for d in load_paths([CORPUS]).documents for c in chunker.chunk(d)), key=lambda c: len(c.embed_text)
    )
    ids = torch_embedder._tokenizer(chunk.embed_text, truncation=False)["input_ids"]
    assert len(ids) <= real_embedder.max_seq_length


def test_every_backend_cuts_the_same_chunks(
    real_embedder: Embedder, torch_embedder: SentenceTransformerEmbedder
) -> None:
    """The exported backends count word pieces exactly as sentence-transformers does, so an
    index's chunks do not depend on the backend that built it."""
    settings = ChunkingSettings()
    for doc in load_paths([CORPUS]).documents + HARD_CASES:
        exported = [(c.start, c.end, c.embed_text) for c in Chunker(real_embedder, settings).chunk(doc)]
        reference = [(c.start, c.end, c.embed_text) for c in Chunker(torch_embedder, settings).chunk(doc)]
        assert exported == reference, doc.doc_id


def test_chunk_ids_are_stable_and_ordered(real_embedder: Embedder) -> None:
    chunker = Chunker(real_embedder, ChunkingSettings())
    doc = load_paths([CORPUS]).documents[0]
    first, second = chunker.chunk(doc), chunker.chunk(doc)
    assert [c.chunk_id for c in first] == [c.chunk_id for c in second]
    assert [c.chunk_id for c in first] == [f"{doc.doc_id}#{i}" for i in range(len(first))]
    assert [c.start for c in first] == sorted(c.start for c in first)


def test_title_prefix_is_cut_to_its_budget() -> None:
    chunker = Chunker(
        FakeEmbedder(max_seq_length=128), ChunkingSettings(chunk_tokens=128, max_title_tokens=5)
    )
    assert chunker.prefix("one two three four five six seven") == "one two three four five\n"
    assert Chunker(FakeEmbedder(), ChunkingSettings(title_prefix=False)).prefix("Title") == ""


def test_a_chunk_size_leaving_no_room_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="CHUNK_TOKENS"):
        Chunker(
            FakeEmbedder(max_seq_length=40),
            ChunkingSettings(chunk_tokens=40, overlap_tokens=8, max_title_tokens=30),
        )


def test_chunks_do_not_cross_sections_that_stand_alone() -> None:
    dosing = " ".join(f"Patients in group {i} received sorafenib 400 mg twice daily." for i in range(8))
    rates = " ".join(f"The response rate in group {i} was {i + 10}% at week eight." for i in range(8))
    text = (
        f"BACKGROUND: Sorafenib is a kinase inhibitor.\n\nMETHODS: {dosing}\n\nScans were read centrally."
        f"\n\nRESULTS: Forty patients were treated.\n\n{rates}"
    )
    doc = Document(doc_id="d", title="A trial", text=text)
    settings = ChunkingSettings(min_section_tokens=40)
    chunks = Chunker(FakeEmbedder(), settings).chunk(doc)
    results_start = text.index("RESULTS:")
    assert any(c.start == results_start for c in chunks)  # RESULTS opens a chunk of its own
    assert not any(c.start < results_start < c.end for c in chunks)
    # The one-sentence BACKGROUND is too short to stand alone: it joins METHODS.
    first = chunks[0]
    assert [name for _, name in first.sections] == ["BACKGROUND", "METHODS"]
    assert first.text[first.sections[1][0] :].startswith("METHODS: Patients in group 0")
    # Without sections (a threshold no section reaches) the short paragraphs on either side of
    # the boundary share a chunk.
    merged = Chunker(FakeEmbedder(), ChunkingSettings(min_section_tokens=10**6)).chunk(doc)
    crossing = [c for c in merged if c.start < results_start < c.end]
    assert crossing and {"METHODS", "RESULTS"} <= {name for _, name in crossing[0].sections}


class RecordingTokenizer(FakeEmbedder):
    """The fake tokenizer, remembering the longest text it was given in one call."""

    longest = 0

    def count_pieces(self, text: str) -> int:
        self.longest = max(self.longest, len(text))
        return super().count_pieces(text)


def test_a_10_mb_document_is_chunked_in_short_tokenizer_calls() -> None:
    """One tokenizer call over a whole 10 MB text held the GIL for 15 s: a server worker doing it
    missed uvicorn's 5 s health ping and was killed. Counting goes window by window, and a
    chunk's sentences are found by bisection (a scan per chunk took hours at this size)."""
    words = "sorafenib dose median survival patients trial response grade toxicity months".split()
    sentences = [
        " ".join(words[(i * 7 + j) % len(words)] for j in range(5 + i % 9)).capitalize() + f" ({i % 97}%)."
        for i in range(160_000)
    ]
    text = "\n\n".join(" ".join(sentences[i : i + 6]) for i in range(0, len(sentences), 6))
    assert len(text) > 10_000_000
    tokenizer = RecordingTokenizer(max_seq_length=256)
    chunks = Chunker(tokenizer, ChunkingSettings()).chunk(Document(doc_id="big", title="Big", text=text))
    assert tokenizer.longest <= COUNT_WINDOW_CHARS
    assert len(chunks) > 5_000
    for chunk in chunks[:: len(chunks) // 50]:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.sentences and all(chunk.text[s.start : s.end].strip() for s in chunk.sentences)
        assert chunk.text[chunk.sentences[-1].start : chunk.sentences[-1].end].endswith("%).")
