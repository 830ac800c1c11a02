"""Property tests (hypothesis, fake embedder): chunk offsets and citation integrity.

(a) Whatever the text and the chunk settings, a chunk is an exact slice of its document,
    chunks come in order, together they cover every non-whitespace character, and every
    sentence span lies inside its chunk.
(b) Whatever is asked of a (generated) corpus, every [n] in an answer has its citation, every
    quote is exactly `text[quote_start:quote_end]` and occurs verbatim in the stored document,
    and an abstention cites nothing.
"""

from __future__ import annotations

import itertools
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rag.documents import Document
from rag.ingest.chunking import Chunker
from rag.ingest.dedupe import SAME_TEXT, minhash, similarity
from rag.pipeline import Pipeline
from rag.serialize import answer_dict
from rag.settings import ChunkingSettings, Settings
from rag.testing import FakeEmbedder

MARKER = re.compile(r"\[(\d+)\]")
PROPERTY = settings(
    deadline=None,
    database=None,  # nothing written into the (shared) working tree
    derandomize=True,  # reproducible: the same examples on every run
    suppress_health_check=[HealthCheck.too_slow],
)

# --- text ------------------------------------------------------------------------------

VOCABULARY = (
    "the median PFS OS was were months patients dose sorafenib regorafenib hazard ratio overall "
    "survival fever psoriasis remission trial enrolled response rate adverse events kinase liver "
    "kidney cancer placebo daily twice mg Fig al et e.g. vs. i.e. RESULTS CONCLUSIONS α-fetoprotein "
    "Ünïcödé naïve µg/mL ≥ ≤ – — “quoted” (95% CI 0.50-0.79) [9] [1,2]"
).split()
NUMBERS = st.one_of(
    st.sampled_from(["5.5", "4.4", "0.63", "0·63", "1,234", "30%", "30 %", "−2.1", "10.6", "400", "3.6-5.9"]),
    st.integers(min_value=0, max_value=100_000).map(str),
    st.floats(min_value=0, max_value=1000, allow_nan=False).map(lambda x: f"{x:.1f}"),
)
ODD_WORDS = st.one_of(
    st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc")),
        min_size=1,
        max_size=12,
    ),
    st.integers(min_value=60, max_value=600).map(lambda n: "x" * n),  # one very long word
    st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzéß"), min_size=80, max_size=400),
)
WORD = st.one_of(st.sampled_from(VOCABULARY), st.sampled_from(VOCABULARY), NUMBERS, ODD_WORDS)
END = st.sampled_from([".", ".", ".", "!", "?", ";", ":", ",", "", "...", ".)", '."', ". [3]"])


def sentence(words: list[str], end: str, capital: bool) -> str:
    text = " ".join(words)
    return (text.capitalize() if capital else text) + end


SENTENCE = st.builds(sentence, st.lists(WORD, min_size=1, max_size=25), END, st.booleans())
GAP = st.sampled_from([" ", " ", " ", "  ", "\n", "\r\n", "\n\n", "\r\n\r\n", "\n \n", "\t", " \n\n\n "])
LABEL = st.sampled_from(
    ["", "", "", "RESULTS: ", "METHODS AND FINDINGS: ", "# Heading\n", "- ", "| 1 | 2 |\n"]
)


@st.composite
def documents_text(draw: st.DrawFn) -> str:
    """Realistic-ish text: labelled paragraphs of sentences, odd gaps, repeats, or anything."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(min_size=0, max_size=400))
    paragraphs = []
    for _ in range(draw(st.integers(1, 6))):
        sentences = draw(st.lists(st.tuples(SENTENCE, GAP), min_size=1, max_size=8))
        paragraphs.append(draw(LABEL) + "".join(s + g for s, g in sentences))
    if draw(st.booleans()):  # repeated passages: the splitter's pieces occur more than once
        paragraphs += draw(st.lists(st.sampled_from(paragraphs), max_size=3))
    separator = draw(st.sampled_from(["\n\n", "\r\n\r\n", "\n", " ", "\n\n\n"]))
    return draw(st.sampled_from(["", " ", "\n", "\ufeff"])) + separator.join(paragraphs) + draw(GAP)


@st.composite
def chunkers(draw: st.DrawFn) -> Chunker:
    max_seq_length = draw(st.integers(40, 512))
    chunk_tokens = draw(st.integers(32, 400))
    limit = min(chunk_tokens, max_seq_length)
    chunking = ChunkingSettings(
        chunk_tokens=chunk_tokens,
        overlap_tokens=draw(st.integers(0, chunk_tokens - 1)),
        title_prefix=draw(st.booleans()),
        max_title_tokens=draw(st.integers(0, limit - 18)),  # leaves the 16 word pieces the chunker needs
    )
    return Chunker(FakeEmbedder(max_seq_length=max_seq_length), chunking)


TITLES = st.one_of(
    st.just(""),
    st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=80).map(" ".join),
)


# Found by this test: a paragraph repeated four times. The splitter's last piece is looked up
# with str.find from just after the previous piece's start, matches the earlier copy, and the
# real last paragraph (text[143:188]) ends up in no chunk: it is never indexed.
REPEATED = "Results.\n\n" + "\n\n".join(["The median PFS was 5.5 months in both arms."] * 4)
SMALL_CHUNKS = ChunkingSettings(chunk_tokens=32, overlap_tokens=0, title_prefix=False, max_title_tokens=0)


@given(text=documents_text(), title=TITLES, chunker=chunkers())
@example(text=REPEATED, title="", chunker=Chunker(FakeEmbedder(), SMALL_CHUNKS))
@settings(PROPERTY, max_examples=100)
def test_chunks_are_exact_ordered_slices_covering_the_text(text: str, title: str, chunker: Chunker) -> None:
    embedder = FakeEmbedder()
    doc = Document("doc", title, text)
    chunks = chunker.chunk(doc)
    for ordinal, chunk in enumerate(chunks):
        assert chunk.ordinal == ordinal and chunk.chunk_id == f"doc#{ordinal}"
        assert 0 <= chunk.start < chunk.end <= len(text)
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.text.strip(), "a chunk of only whitespace"
        assert chunk.embed_text.endswith(chunk.text)
        for span in chunk.sentences:
            assert 0 <= span.start < span.end <= len(chunk.text), (span, len(chunk.text))
            assert chunk.text[span.start : span.end].strip()
    covered = bytearray(len(text))
    for chunk in chunks:
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    uncovered = [i for i, c in enumerate(text) if not c.isspace() and not covered[i]]
    assert not uncovered, (
        f"text[{uncovered[0]}:] is in no chunk: {text[uncovered[0] :][:60]!r}; "
        f"chunks {[(c.start, c.end) for c in chunks]} of a text of {len(text)} characters"
    )
    for before, after in itertools.pairwise(chunks):
        assert before.start < after.start and before.end < after.end, [(c.start, c.end) for c in chunks]
    # What the (fake) model sees fits its window: nothing is truncated at embedding time.
    assert all(embedder.count_tokens(c.embed_text) <= chunker._tokenizer.max_seq_length for c in chunks)


# --- answers ---------------------------------------------------------------------------

TOPICS = "sorafenib regorafenib fever psoriasis lenvatinib nivolumab kidney liver melanoma".split()
MEASURES = ["median PFS was", "median OS was", "hazard ratio was", "response rate was", "dose was"]
UNITS = ["months", "mg twice daily", "%", "(95% CI 0.50-0.79)", "patients", ""]


@st.composite
def corpus_sentences(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 3))
    topic = draw(st.sampled_from(TOPICS))
    if kind == 0:
        measure, unit = draw(st.sampled_from(MEASURES)), draw(st.sampled_from(UNITS))
        return f"The {measure} {draw(NUMBERS)} {unit} with {topic}."
    if kind == 1:
        return f"Of {draw(NUMBERS)} patients enrolled, {draw(NUMBERS)} had {draw(st.sampled_from(TOPICS))}."
    if kind == 2:
        return draw(SENTENCE).replace("\n", " ")
    # Bracketed numbers of the paper's own (reference marks, or planted look-alikes of ours).
    mark = draw(st.sampled_from(["[{}]", "[ {} ]", "[{}, 2]", "[1-{}]", "[[{}]]", "[{}a]", "[{}]."]))
    number = draw(st.integers(1, 9))
    return f"{topic.capitalize()} improved {draw(st.sampled_from(VOCABULARY))} {mark.format(number)}."


@st.composite
def corpora(draw: st.DrawFn) -> dict[str, tuple[str, str]]:
    """3-5 short Markdown papers: doc_id -> (title, text)."""
    docs = {}
    for number in range(draw(st.integers(3, 5))):
        topic = draw(st.sampled_from(TOPICS))
        title = f"{topic.capitalize()} in {draw(st.sampled_from(['kidney', 'liver', 'skin']))} cancer"
        paragraphs = draw(
            st.lists(st.lists(corpus_sentences(), min_size=1, max_size=5), min_size=1, max_size=3)
        )
        docs[f"paper-{number}"] = (title, "\n\n".join(" ".join(p) for p in paragraphs))
    return docs


QUESTION_WORDS = ["What was the", "How many", "Which studies", "Did", "What is the", "and", "in", ""]


@st.composite
def questions(draw: st.DrawFn, corpus: dict[str, tuple[str, str]]) -> str:
    words = [w.strip(".,;:()[]") for _, text in corpus.values() for w in text.split()]
    words = [w for w in words if w] or ["sorafenib"]
    parts = [draw(st.sampled_from(QUESTION_WORDS))]
    parts += draw(st.lists(st.sampled_from(words), min_size=1, max_size=8))
    if draw(st.booleans()):
        parts += [
            draw(st.sampled_from(["and what", ", and how often", "vs", "[1]", "zebrafish", "axitinib"]))
        ]
        parts += draw(st.lists(st.sampled_from(words), max_size=4))
    return " ".join(p for p in parts if p) + draw(st.sampled_from(["?", "", "?!", "."]))


def write_corpus(corpus_dir: Path, corpus: dict[str, tuple[str, str]]) -> None:
    corpus_dir.mkdir(parents=True)
    for doc_id, (title, text) in corpus.items():
        (corpus_dir / f"{doc_id}.md").write_text(f"---\ntitle: {title}\n---\n{text}\n", encoding="utf-8")


@given(data=st.data(), corpus=corpora())
@settings(PROPERTY, max_examples=40)
def test_every_marker_is_cited_and_every_quote_is_exact(
    data: st.DataObject, corpus: dict[str, tuple[str, str]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_corpus(root / "corpus", corpus)
        pipeline = Pipeline(
            Settings(corpus_dir=root / "corpus", index_dir=root / "index"), FakeEmbedder(), None
        )
        try:
            result = pipeline.ingest()
            # A paper drawn twice with the same text is stored once (rag.ingest.dedupe).
            duplicates = {Path(path).stem for path, reason in result.skipped if "duplicate" in reason}
            for d in duplicates:
                assert any(
                    similarity(minhash(corpus[d][1]), minhash(text)) >= SAME_TEXT
                    for k, (_, text) in corpus.items()
                    if k != d
                )
            stored = {doc_id: pipeline.document(doc_id).text for doc_id in corpus if doc_id not in duplicates}
            for _ in range(4):
                question = data.draw(questions(corpus), label="question")
                top_k = data.draw(st.integers(1, 8), label="top_k")
                answer = pipeline.ask(question, top_k=top_k)
                body = answer_dict(answer)  # what POST /ask returns
                citations = body["citations"]
                markers = [int(n) for n in MARKER.findall(body["answer"])]
                if body["abstained"]:
                    assert citations == [] and markers == [], body
                    assert body["reason"]
                    continue
                assert citations, body
                cited = {c["marker"] for c in citations}
                assert sorted(cited) == list(range(1, len(citations) + 1)), body
                missing = [n for n in markers if n not in cited]
                assert not missing, f"[n] without a citation: {missing} in {body['answer']!r}"
                assert set(markers) == cited, f"citations not referenced in {body['answer']!r}"
                for citation in citations:
                    quote, start, end = citation["quote"], citation["quote_start"], citation["quote_end"]
                    assert quote.strip() and 0 <= start < end <= len(citation["text"])
                    assert citation["text"][start:end] == quote
                    assert citation["doc_id"] in stored
                    assert citation["text"] in stored[citation["doc_id"]]
                    assert quote in stored[citation["doc_id"]]
        finally:
            pipeline.close()
