from __future__ import annotations

import pytest

import rag.text
from rag.text import fold_ligatures, numbers, split_sentences, words
from rag.text.analyzer import Analyzer


def sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


def test_sentences_keep_abbreviations_and_decimals_inside() -> None:
    text = (
        "Median PFS was 4.4 months (95% CI, 3.6-5.9). Bruix J. et al. reported it vs. placebo. "
        "Fig. 2 shows it."
    )
    assert sentences(text) == [
        "Median PFS was 4.4 months (95% CI, 3.6-5.9).",
        "Bruix J. et al. reported it vs. placebo.",
        "Fig. 2 shows it.",
    ]


def test_section_labels_are_kept_out_of_the_sentence_and_recorded() -> None:
    text = (
        "BACKGROUND: Sorafenib is a kinase inhibitor.\n"
        "RESULTS: Forty-eight patients were enrolled. The rate was 30%."
    )
    spans = split_sentences(text)
    assert [text[s.start : s.end] for s in spans] == [
        "Sorafenib is a kinase inhibitor.",
        "Forty-eight patients were enrolled.",
        "The rate was 30%.",
    ]
    assert [s.section for s in spans] == ["BACKGROUND", "RESULTS", "RESULTS"]


def test_wrapped_lines_join_but_headings_and_blank_lines_split() -> None:
    text = "Patients with advanced disease were\nenrolled in the study.\n\nTable 1\nResponse rate was 36%."
    assert sentences(text) == [
        "Patients with advanced disease were\nenrolled in the study.",
        "Table 1",
        "Response rate was 36%.",
    ]


def test_offsets_point_into_the_text() -> None:
    text = "  First one here.   Second one there.\n\nThird."
    for span in split_sentences(text):
        assert text[span.start : span.end] == text[span.start : span.end].strip()
        assert span.end > span.start


def test_terms_drop_stopwords_and_stem() -> None:
    assert Analyzer().terms("The patients were treated with sorafenib") == [
        "patient",
        "were",
        "treat",
        "sorafenib",
    ]


def test_numbers_are_normalized() -> None:
    assert numbers("HR 0·63 (95% CI 0·50-0·79), 1,234 patients, 30 % and −2.5") == [
        "0.63",
        "95%",
        "0.50",
        "0.79",
        "1234",
        "30%",
        "2.5",
    ]


def test_stems_are_the_same_from_the_cache_and_past_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:

    words_in = ["randomised", "patients", "tumours", "patients", "were", "randomised"]
    expected = ["random", "patient", "tumor", "patient", "were", "random"]
    assert rag.text.stem(words_in) == expected  # first time: stemmed and kept
    assert rag.text.stem(words_in) == expected  # from the cache
    monkeypatch.setattr(rag.text, "_STEMS", {})
    monkeypatch.setattr(rag.text, "MAX_CACHED_STEMS", 0)
    assert rag.text.stem(words_in) == expected  # the cache is full: stemmed each time
    assert rag.text._STEMS == {}


def test_hard_wrapped_text_joins_lines_that_run_on_in_upper_case() -> None:
    # An OCR of a two-column paper: every line ends where the column did, whatever comes next.
    line = "Filler words keep each line of this column about as wide as the rest of them"
    text = "\n".join([line] * 20) + (
        ".\nThus in 2006, two major descendant lineages of the famous 1918\n"
        "H1N1 virus persist naturally in humans and pigs around the\n"
        "world.\n\nTable 2\nResults by year\n"
        "The lineages were counted in the following table of sequences from\n"
        "| year | lineages |\n"
        "Human H1N1 lineage        circulating since 1977 in people\n"
        "Porcine H1N1 lineage      circulating since 1918 in pigs"
    )
    found = sentences(text)
    assert (
        "Thus in 2006, two major descendant lineages of the famous 1918\n"
        "H1N1 virus persist naturally in humans and pigs around the\nworld." in found
    )
    assert found[-6:] == [  # short lines still stand alone, and so do table rows
        "Table 2",
        "Results by year",
        "The lineages were counted in the following table of sequences from",
        "| year | lineages |",
        "Human H1N1 lineage        circulating since 1977 in people",
        "Porcine H1N1 lineage      circulating since 1918 in pigs",
    ]
    # Text whose lines are paragraphs: a line break before a capital still ends the block.
    prose = "\n".join(["A sentence that fills a line and says nothing more at all"] * 3) + "\nTable 2"
    assert len(sentences(prose)) == 4


def test_ligatures_read_as_plain_letters() -> None:
    assert words("Inﬂuenza speciﬁc ﬁndings") == ["influenza", "specific", "findings"]
    assert fold_ligatures("inﬂuenza") == "influenza"
