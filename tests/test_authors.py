"""A study named by its first author ("the Hatooka study", "Bruix et al."): rag.answer.authors
reads the question, rag.search.first_authors the collection's authors."""

from __future__ import annotations

from rag.answer.authors import MAX_CANDIDATES, author_candidates, studies_named
from rag.answer.followup import Turn
from rag.pipeline import Pipeline
from rag.search.filters import Filters
from rag.search.first_authors import AuthorName, Study, author_name

DOCUMENTS = [
    ("hatooka-2016", 2016, "Hatooka M, Kawaoka T, Aikata H, et al."),
    ("lee-2015", 2015, "Lee A, Chen B"),
    ("lee-2017", 2017, "Ann Lee, Bo Chen"),
    ("berg-2019", 2019, "van der Berg, Jan; Smits, Piet"),
    ("costa-matos-2013", 2013, "Costa-Matos L, Batista P"),
    ("resorce", 2017, "The RESORCE Investigators"),
    ("anonymous", None, None),
]
CORPUS_WORDS = {"thomas", "sorafenib", "study"}


def lookup(word: str) -> AuthorName:
    # What the store's LIKE hands over: every document whose authors hold the word.
    return author_name(word, [d for d in DOCUMENTS if word.casefold() in (d[2] or "").casefold()])


def known(word: str) -> bool:
    return word.lower() in CORPUS_WORDS


def named(question: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] | None:
    found = studies_named(question, lookup, author_candidates(question, known), known)
    return None if found is None else (found.names, found.doc_ids, found.missing)


def test_a_name_among_the_collections_authors() -> None:
    assert lookup("Hatooka") == AuthorName((Study("hatooka-2016", 2016),), True)
    assert lookup("lee") == AuthorName((Study("lee-2015", 2015), Study("lee-2017", 2017)), True)
    # A particle is no name of its own, a hyphenated name is found whole, a group is no person.
    assert lookup("Berg").first == (Study("berg-2019", 2019),)
    assert lookup("Costa-Matos").first == (Study("costa-matos-2013", 2013),)
    for word in ("van", "der", "The", "RESORCE", "Investigators", "Smith"):
        assert lookup(word) == AuthorName((), False), word
    # A second author is no study's name, but is an author.
    assert lookup("Kawaoka") == AuthorName((), True)
    assert lookup("Chen") == AuthorName((), True)


def test_a_question_names_a_study_by_its_first_author() -> None:
    assert named("What did the Hatooka study compare?") == (("Hatooka",), ("hatooka-2016",), ())
    assert named("What did Hatooka find?") == (("Hatooka",), ("hatooka-2016",), ())
    assert named("In Berg's paper, how many patients?") == (("Berg",), ("berg-2019",), ())
    # A year chooses among one author's studies; without one, both are meant.
    assert named("What did Lee et al. (2017) report?") == (("Lee",), ("lee-2017",), ())
    assert named("What did the Lee 2015 study report?") == (("Lee",), ("lee-2015",), ())
    assert named("What did Lee and colleagues report?") == (("Lee",), ("lee-2015", "lee-2017"), ())
    assert named("What did Costa-Matos et al. 2013 measure?") == (("Costa-Matos",), ("costa-matos-2013",), ())


def test_the_question_is_read_without_the_authors_name() -> None:
    # A name no passage holds would only weigh against every sentence.
    for question, reading in [
        ("What did Lee et al. (2017) report about fever?", "What did the authors report about fever?"),
        ("What did the Hatooka 2016 study compare?", "What did the study compare?"),
        ("In Berg's paper, how many patients?", "In the paper, how many patients?"),
        ("Hatooka and colleagues compared what?", "The authors compared what?"),
        ("What was reported by Hatooka on survival?", "What was reported by the authors on survival?"),
        ("What did Smith et al. find?", "What did Smith et al. find?"),
    ]:
        found = studies_named(question, lookup, author_candidates(question, known), known)
        assert found is not None and found.reading == reading, question


def test_a_word_the_text_uses_names_an_author_only_with_a_cue() -> None:
    def thomas(word: str) -> AuthorName:
        documents = [("thomas-2016", 2016, "Thomas JA, Smith K")]
        return author_name(word, [d for d in documents if word.casefold() in d[2].casefold()])

    for question, expected in [
        ("Does sorafenib help Thomas?", None),
        ("What did Thomas et al. measure?", ("thomas-2016",)),
        ("What was reported by Thomas?", ("thomas-2016",)),
    ]:
        found = studies_named(question, thomas, author_candidates(question, known), known)
        assert (found.doc_ids if found else None) == expected, question


def test_a_name_only_an_author_can_have_that_no_document_has_is_missing() -> None:
    assert named("What did Smith et al. find about sorafenib?") == ((), (), ("Smith",))
    # A second author is not a study's name, but is no stranger either; a word the text uses
    # may be a cited study's author ("Thomas et al." in a review's text).
    assert named("What did Kawaoka et al. find?") is None
    assert named("What did Thomas et al. find?") is None
    # Nor is a capitalized word with no author's cue: it is whatever the question calls it.
    assert named("Is the SHARP trial in the collection?") is None


def test_a_question_naming_a_study_by_its_first_author_is_answered_from_that_study(
    pipeline: Pipeline,
) -> None:
    question = "What is hepatic arterial infusion chemotherapy compared with in the Hatooka study?"
    answer = pipeline.ask(question)
    assert not answer.abstained, answer.answer
    hatooka = "hatooka-2016-comparison-outcome-hepatic-arterial"
    assert {c.passage.doc_id for c in answer.citations} == {hatooka}
    assert "sorafenib" in answer.answer.lower()

    answer = pipeline.ask("What did Kuzuya et al. find about fever?")
    assert {c.passage.doc_id for c in answer.citations} == {"kuzuya-2016-fever-within-2-weeks"}


def test_a_study_the_collection_lacks_is_declined_by_name(pipeline: Pipeline) -> None:
    answer = pipeline.ask("What did Smith et al. find about sorafenib?")
    assert answer.abstained
    assert "'Smith'" in answer.answer


def test_the_filters_given_win_over_a_study_named_in_the_question(pipeline: Pipeline) -> None:
    only = Filters(doc_ids=("kuzuya-2016-fever-within-2-weeks",))
    answer = pipeline.ask("What did the Hatooka study find about survival?", filters=only)
    assert {c.passage.doc_id for c in answer.citations} <= {"kuzuya-2016-fever-within-2-weeks"}


def test_a_follow_up_stays_with_the_study_named_by_its_author(pipeline: Pipeline) -> None:
    # The web page sends back the documents each answer cited; a client that does not still
    # has the earlier question, whose named study the follow-up keeps.
    for earlier, doc_id in [
        ("What did Kuzuya et al. find about fever?", "kuzuya-2016-fever-within-2-weeks"),
        ("What did the Hatooka study compare?", "hatooka-2016-comparison-outcome-hepatic-arterial"),
    ]:
        answer = pipeline.ask("How many patients were enrolled?", history=[Turn(earlier)])
        assert {c.passage.doc_id for c in answer.citations} == {doc_id}, earlier


def test_the_store_finds_the_documents_an_author_name_is_in(pipeline: Pipeline) -> None:
    chunks = pipeline.index.chunks
    found = chunks.documents_naming_author("hatooka")
    assert [(d, y) for d, y, _ in found] == [("hatooka-2016-comparison-outcome-hepatic-arterial", 2016)]
    # LIKE's wildcards in a question's word are plain characters, not "anything".
    assert chunks.documents_naming_author("%") == []
    assert chunks.documents_naming_author("_") == []


def test_a_question_of_many_names_looks_up_a_few_those_with_a_cue_first() -> None:
    question = " ".join(f"Name{chr(65 + i)}x" for i in range(20)) + " and Hatooka et al.?"
    candidates = author_candidates(question, known)
    assert len(candidates) == MAX_CANDIDATES
    assert candidates[-1].word == "Hatooka" and candidates[-1].cue == "author"
