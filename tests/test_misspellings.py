"""A question's misspelled words read as the corpus words one slip away, through the library
and POST /ask (which says how it read the question)."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from rag.answer.misspellings import corrected
from rag.index.vocabulary import Lexicon

WORDS = ["bacterial", "isolated", "fibular", "staged", "CEACAM1", "ceacam1", "vectors", "states", "rad5"]


def lexicon() -> Lexicon:
    dfs = np.array([3, 2, 1, 5, 2, 1, 4, 9, 1], dtype=np.int64)
    return Lexicon(WORDS, dfs, np.eye(len(WORDS), 16, dtype=np.float32), 10)


def test_a_misspelled_word_is_read_as_the_corpus_word() -> None:
    question = "Which bacteial vectors were isilated with CEAMCAM1?"
    assert corrected(question, lexicon()) == "Which bacterial vectors were isolated with CEACAM1?"
    assert corrected("Which Bacteial vectors?", lexicon()) == "Which Bacterial vectors?"
    # A short name with digits is read by two swapped letters only, keeping its digits.
    assert corrected("Was rdA5 tested, or rd5?", lexicon()) == "Was rad5 tested, or rd5?"


def test_real_words_and_other_forms_are_left_as_typed() -> None:
    lex = lexicon()
    # Another form of a corpus word (it differs in its last letter) is not a slip.
    assert corrected("Was the fibula broken?", lex) == "Was the fibula broken?"
    # A word the embedding model knows whole is a word, not a slip ("stayed" is not "staged").
    known = {"stayed"}
    assert corrected("Who stayed in hospital?", lex, known.__contains__) == "Who stayed in hospital?"
    assert corrected("Who stayed in hospital?", lex) == "Who staged in hospital?"
    # Short words and words of the corpus stay as they are.
    assert corrected("Were the states tested?", lex) == "Were the states tested?"


@pytest.mark.integration
def test_ask_reads_a_misspelled_question_and_says_how(client: TestClient) -> None:
    typed = "What was the median PFS of sorafenib in renal cancer after bevacizumab or sunitinb?"
    body = client.post("/ask", json={"question": typed}).json()
    assert body["resolved_question"] == typed.replace("sunitinb", "sunitinib")
    assert not body["abstained"] and "4.4 months" in body["answer"]
    asked_right = client.post("/ask", json={"question": body["resolved_question"]}).json()
    assert asked_right["resolved_question"] is None and asked_right["answer"] == body["answer"]
