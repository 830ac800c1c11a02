"""British spellings read as American ones (rag/text/spelling.py, rules in rag/text/data/spelling.json)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.index.lexical import LexicalIndex
from rag.index.vectors import FaissVectorIndex
from rag.search.retrieval import HybridRetriever
from rag.testing import FakeEmbedder
from rag.text import stem
from rag.text.analyzer import Analyzer
from rag.text.spelling import american, spelling_rules_id

PAIRS = [
    ("tumour", "tumor"),
    ("tumours", "tumors"),
    ("behavioural", "behavioral"),
    ("favourable", "favorable"),
    ("randomised", "randomized"),
    ("randomisation", "randomization"),
    ("hospitalisation", "hospitalization"),
    ("characterised", "characterized"),
    ("analysed", "analyzed"),
    ("haemolysed", "hemolyzed"),
    ("centre", "center"),
    ("centred", "centered"),
    ("fibres", "fibers"),
    ("titre", "titer"),
    ("analogue", "analog"),
    ("aetiology", "etiology"),
    ("oedema", "edema"),
    ("oesophageal", "esophageal"),
    ("diarrhoea", "diarrhea"),
    ("foetal", "fetal"),
    ("coeliac", "celiac"),
    ("leukaemia", "leukemia"),
    ("haemorrhage", "hemorrhage"),
    ("paediatric", "pediatric"),
    ("anaesthetised", "anesthetized"),
    ("ischaemia", "ischemia"),
]

# Words spelled alike on both sides of the Atlantic, or that only look like a rule applies.
UNCHANGED = """four hour your journal resource course disease diseases raised praise exercise precise
precisely otherwise likewise surprise promising premises crises analysis lysed this isotope criticism existed
decision vision rogue vogue algae larvae vertebrae aerosol aerobic timbre""".split()


@pytest.mark.parametrize(("british", "us"), PAIRS)
def test_a_british_spelling_reads_as_the_american_one(british: str, us: str) -> None:
    assert american(british) == american(us) == us
    assert stem([british]) == stem([us])


@pytest.mark.parametrize("word", UNCHANGED)
def test_words_without_a_variant_are_left_alone(word: str) -> None:
    assert american(word) == word


def test_related_forms_still_share_a_stem() -> None:
    # The rules must not split what the stemmer joins: "precise" and "precisely" stay one term.
    assert len(set(stem(["precise", "precisely"]))) == 1
    assert len(set(stem(["randomised", "randomized", "randomization", "randomisation"]))) == 1
    assert len(set(stem(["tumour", "tumours", "tumor", "tumors"]))) == 1


def test_the_rules_are_named_in_the_index_spec() -> None:
    assert spelling_rules_id().startswith("british-as-american v1 sha256:")


def test_bm25_finds_a_document_that_spells_the_word_the_other_way() -> None:
    analyzer = Analyzer()
    texts = {
        1: "Randomized trial of sorafenib in pediatric leukemia: tumor response",
        2: "Cost of hospital care in the elderly",
    }
    embedder = FakeEmbedder()
    vectors = FaissVectorIndex.empty(embedder.dimension)
    vectors.add(np.array(list(texts), dtype=np.int64), embedder.embed(list(texts.values())))
    lexical = LexicalIndex.build([(row, analyzer.terms(text)) for row, text in texts.items()])
    retriever = HybridRetriever(vectors, lexical)
    query = "randomised paediatric leukaemia tumour"
    hits = retriever.retrieve(embedder.embed([query])[0], analyzer.terms(query), 2, mode="bm25")
    assert hits and hits[0][0] == 1
    assert len(hits) == 1  # the other document shares no term
