from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.answer.abstain import absent_terms, names_a_thing, unknown_words
from rag.answer.misspellings import corrected
from rag.index.vocabulary import Lexicon
from rag.text.abbreviations import Abbreviations

WORDS = [
    "sorafenib",
    "hepatocellular",
    "carcinoma",
    "renal",
    "tumor",
    "trial",
    "survival",
    "RESORCE",
    "malignant",
    "cell",
]


def lexicon() -> Lexicon:
    return Lexicon(WORDS, np.ones(len(WORDS), dtype=np.int64), np.eye(len(WORDS), 8, dtype=np.float32), 10)


def test_words_that_name_a_thing() -> None:
    assert names_a_thing("nivolumab", "")
    assert names_a_thing("cabozantinib", "in")
    assert names_a_thing("melanoma", "")
    assert names_a_thing("IMbrave150", "")
    assert names_a_thing("CheckMate", "459")
    assert names_a_thing("STORM", "trial")
    assert names_a_thing("pancreatic", "cancer")
    assert not names_a_thing("carrying", "tumour")
    assert not names_a_thing("inoperable", "liver")
    assert not names_a_thing("SCID", "mouse")
    # Groups of people: a corpus that never mentions them does not answer for them.
    assert names_a_thing("pregnant", "")
    assert names_a_thing("Children", "with")


def test_unknown_words_skip_known_stems_and_explained_acronyms() -> None:
    question = "Did sorafenib help carcinomas, HCC or melanoma patients in the STORM trial?"
    unknown = unknown_words(question, lexicon(), Abbreviations({}))
    assert [w.token for w in unknown] == ["help", "melanoma", "patients", "STORM"]
    assert [w.token for w in unknown if w.names_thing] == ["melanoma", "STORM"]


def test_a_question_in_capitals_finds_its_words_in_any_case() -> None:
    # Written in capitals, every word looks like an acronym, which is looked up by its case.
    shouted = unknown_words("DID SORAFENIB HELP MELANOMA PATIENTS IN STORM?", lexicon(), Abbreviations({}))
    assert [w.token for w in shouted] == ["HELP", "MELANOMA", "PATIENTS", "STORM"]
    # In a question with lower case, an acronym is still read by its case ("Sorafenib" is not).
    mixed = unknown_words("Did SORAFENIB help the survival of patients?", lexicon(), Abbreviations({}))
    assert [w.token for w in mixed] == ["SORAFENIB", "help", "patients"]


def test_near_synonyms_are_not_absent() -> None:
    unknown = unknown_words("Was sorafenib tried in melanoma or kidney tumour?", lexicon(), Abbreviations({}))
    names_thing = [w for w in unknown if w.names_thing]
    assert absent_terms(names_thing, {"melanoma": 0.4}, 0.8) == ("melanoma",)
    assert absent_terms(names_thing, {"melanoma": 0.9}, 0.8) == ()


def test_a_name_written_together_counts_when_the_corpus_writes_it_apart() -> None:
    words = [*WORDS, "COVID", "HIV"]
    found = Lexicon(words, np.ones(len(words), dtype=np.int64), np.eye(len(words), 16, dtype=np.float32), 10)
    question = "How many COVID19 or HIV1 patients, and any in the RESORCE2 or IMbrave150 trial?"
    unknown = [w.token for w in unknown_words(question, found, Abbreviations({}))]
    assert "COVID19" not in unknown and "HIV1" not in unknown and "RESORCE2" not in unknown
    assert "IMbrave150" in unknown  # "IMbrave" is not in the corpus either


def test_a_name_mistyped_by_one_slip_is_not_absent() -> None:
    words = [*WORDS, "CEACAM1", "rad5", "FLT3", "IL6"]  # a mixed-case word is kept lower-cased
    found = Lexicon(words, np.ones(len(words), dtype=np.int64), np.eye(len(words), 16, dtype=np.float32), 10)
    assert found.slip_of("CEAMCAM1") == "CEACAM1" and found.slip_of("rdA5") == "rad5"
    question = corrected("Do CEAMCAM1, rdA5, FLT4 and IL6R matter?", found)  # as the asker reads it
    assert question == "Do CEACAM1, rad5, FLT4 and IL6R matter?"
    unknown = [w.token for w in unknown_words(question, found, Abbreviations({})) if w.names_thing]
    # Another number is another name, and a short name with a letter more is another name too.
    assert unknown == ["FLT4", "IL6R"]
    grown = found.updated([("HER2", 1, np.ones(16, dtype=np.float32))], 11)  # a word added by a write
    assert grown.slip_of("HRE2") == "HER2" and found.slip_of("HRE2") is None


def test_the_entity_cues_are_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.answer import abstain

    data = json.loads(abstain.ENTITIES_FILE.read_text(encoding="utf-8"))
    assert "nib" in data["drug_suffixes"] and "oma" in data["disease_suffixes"]
    assert not names_a_thing("virophage", "")
    data["disease_suffixes"].append("phage")  # another field's list
    changed = tmp_path / "entities.json"
    changed.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(abstain, "ENTITIES_FILE", changed)
    abstain.entities_data.cache_clear()
    abstain.entity_cues.cache_clear()
    try:
        assert names_a_thing("virophage", "")
    finally:
        monkeypatch.undo()
        abstain.entities_data.cache_clear()
        abstain.entity_cues.cache_clear()
    assert not names_a_thing("virophage", "")


def test_the_common_abbreviations_are_data() -> None:
    from rag.text.abbreviations import COMMON_FILE, common_abbreviations

    listed = json.loads(COMMON_FILE.read_text(encoding="utf-8"))["abbreviations"]
    assert common_abbreviations() == listed and listed["OS"] == "overall survival"
    assert Abbreviations({}).meaning("PFS") == ["progression", "free", "survival"]
