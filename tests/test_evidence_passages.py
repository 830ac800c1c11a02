"""The passages an answer reads: a chunk that can never be quoted (a keyword list, a funding
note) takes no retrieval slot of one that can (rag/search/searcher.py, `quotable`)."""

from __future__ import annotations

import pytest

from rag.answer.sentences import holds_content
from rag.documents import Passage
from rag.pipeline import Pipeline

KEYWORDS_CHUNK = "maida-2016-complete-sustained-off-therapy"


def passage(sections: tuple[tuple[int, str | None], ...]) -> Passage:
    return Passage(0, "d#0", "d", "text", "title", None, None, None, None, 0.0, 1, sections=sections)


def test_a_chunk_wholly_of_keywords_or_disclosures_holds_no_content() -> None:
    assert not holds_content(passage(((0, "KEY WORDS"), (82, "ABBREVIATIONS"))))
    assert not holds_content(passage(((0, "Funding"), (394, "Conflict of interest statement"))))
    # Any part that may answer keeps it: a labelled finding, text under no label, or text
    # before the first label.
    assert holds_content(passage(((0, "Acknowledgements"), (120, "Results"))))
    assert holds_content(passage(((0, None),)))
    assert holds_content(passage(((40, "Funding"),)))
    assert holds_content(passage(()))


@pytest.mark.integration
def test_a_keyword_list_is_searched_but_never_read_for_an_answer(pipeline: Pipeline) -> None:
    question = "Why does liver cancer become resistant to sorafenib?"
    # A case report's keyword and abbreviation list ("... Barcelona Clinic Liver Cancer ...") is
    # short and names the paper's main terms, so it is among the best matches of the search ...
    found = pipeline.search(question, top_k=5)
    keywords = [p for p in found if not holds_content(p)]
    assert keywords and keywords[0].doc_id == KEYWORDS_CHUNK
    # ... but an answer's passages hold none such, ranked from 1 without a gap, and the quote
    # comes from a passage that can hold one.
    evidence = pipeline.evidence(question)
    assert evidence.passages and all(holds_content(p) for p in evidence.passages)
    assert keywords[0].row_id not in {p.row_id for p in evidence.passages}
    first = [p.rank for p in evidence.passages[:5]]
    assert first == [1, 2, 3, 4, 5]
    answer = pipeline.ask(question)
    assert answer.citations and "KEY WORDS" not in answer.citations[0].passage.text
