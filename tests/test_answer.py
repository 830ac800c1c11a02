"""The extractive composer on evidence built from hand-made passages (no model, no index)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from rag.answer.composition import NOT_FOUND, Candidate
from rag.answer.evidence import Evidence, build_evidence, plan_question
from rag.answer.extractive import ExtractiveComposer
from rag.answer.quoting import without_label
from rag.answer.sentences import is_answer_sentence, is_heading
from rag.documents import Passage, SentenceRecord
from rag.index.vocabulary import Lexicon
from rag.settings import AnswerSettings
from rag.testing import FakeEmbedder
from rag.text import split_sentences
from rag.text.abbreviations import Abbreviations
from rag.text.analyzer import vocabulary_words

EMBEDDER = FakeEmbedder()
PASSAGES = {
    "mrcc": (
        "Sorafenib in refractory metastatic renal cell carcinoma",
        "RESULTS: Forty-eight patients were enrolled. The median PFS was 4.4 months (95% CI, 3.6-5.9). "
        "Most adverse events were mild.",
    ),
    "myeloma": (
        "Sorafenib in myeloma",
        "RESULTS: No responses were observed. Median PFS is one month, and OS at 12 months is 50%.",
    ),
}


def lexicon() -> Lexicon:
    """The vocabulary of the passages, as the index would hold it."""
    counts: Counter[str] = Counter()
    for title, text in PASSAGES.values():
        counts.update(vocabulary_words(f"{title}\n{text}"))
    words = sorted(counts)
    dfs = np.array([counts[w] for w in words], dtype=np.int64)
    return Lexicon(words, dfs, EMBEDDER.embed(words), chunk_count=len(PASSAGES))


def evidence(question: str) -> Evidence:
    """Evidence made as the pipeline makes it, from hand-made passages and the fake embedder."""
    passages, sentences = [], []
    for rank, (doc_id, (title, text)) in enumerate(PASSAGES.items(), start=1):
        passages.append(Passage(rank, f"{doc_id}#0", doc_id, text, title, None, None, None, None, 1.0, rank))
        for span in split_sentences(text):
            vector = EMBEDDER.embed([title + "\n" + text[span.start : span.end]])[0]
            sentences.append(SentenceRecord(rank, span.start, span.end, span.section, vector))
    words, abbreviations = lexicon(), Abbreviations({})
    plan = plan_question(question, words, abbreviations)
    return build_evidence(
        plan,
        EMBEDDER.embed(plan.texts),
        passages=passages,
        sentences=sentences,
        lexicon=words,
        abbreviations=abbreviations,
        synonym_similarity=AnswerSettings().synonym_similarity,
    )


def compose(question: str):  # type: ignore[no-untyped-def]
    composer = ExtractiveComposer(AnswerSettings(min_support=0.0), Abbreviations({}))
    return composer.compose(evidence(question))


def test_answer_quotes_and_cites_the_sentence() -> None:
    result = compose("What was the median PFS of sorafenib in refractory metastatic renal cell carcinoma?")
    assert not result.abstained
    assert result.answer.startswith("The median PFS was 4.4 months (95% CI, 3.6-5.9) [1].")
    first = result.citations[0]
    assert first.passage.text[first.quote_start : first.quote_end] == first.quote
    assert first.passage.doc_id == "mrcc"


def test_every_marker_has_an_exact_citation() -> None:
    result = compose("How many patients were enrolled, and what was the median PFS in renal cell carcinoma?")
    markers = [int(m) for m in __import__("re").findall(r"\[(\d+)\]", result.answer)]
    assert markers == [c.marker for c in result.citations] == list(range(1, len(markers) + 1))
    for citation in result.citations:
        assert citation.passage.text[citation.quote_start : citation.quote_end] == citation.quote


def test_absent_terms_abstain_without_citations() -> None:
    built = evidence("What was the response rate in melanoma?")
    assert built.absent_terms == ("melanoma",)  # the corpus never mentions it
    result = ExtractiveComposer(AnswerSettings(min_support=0.0), Abbreviations({})).compose(built)
    assert result.abstained and result.citations == ()
    assert result.answer.startswith(NOT_FOUND) and "'melanoma'" in result.answer


def test_a_precise_statistic_that_is_not_reported_abstains() -> None:
    result = compose("What was the median overall survival with sorafenib in myeloma?")
    assert result.abstained
    assert "median overall survival" in result.answer


def test_weak_support_abstains() -> None:
    composer = ExtractiveComposer(AnswerSettings(min_support=0.99), Abbreviations({}))
    result = composer.compose(evidence("What was the median PFS in renal cell carcinoma?"))
    assert result.abstained and result.reason and "weak support" in result.reason


def test_words_of_a_scene_setting_opening_do_not_choose_the_sentence() -> None:
    whole = evidence("How many patients with refractory renal cell carcinoma were enrolled?").parts[0]
    assert whole.sentence_weights == whole.term_weights
    scene = "In the trial of sorafenib in refractory renal cell carcinoma, how many patients were enrolled?"
    part = evidence(scene).parts[0]
    assert {"renal", "carcinoma", "refractori"} <= set(part.term_weights)  # they still choose the document
    assert set(part.sentence_weights) == {"patient", "enrol"}


def test_a_short_question_gets_one_sentence() -> None:
    built = evidence("How many patients were enrolled in renal cell carcinoma?")  # 5 content words
    every_sentence = AnswerSettings(min_support=0.0, extra_sentence_ratio=0.0, one_sentence_words=0)
    longer = ExtractiveComposer(every_sentence, Abbreviations({})).compose(built)
    assert len(longer.citations) > 1
    short = every_sentence.model_copy(update={"one_sentence_words": 5})
    result = ExtractiveComposer(short, Abbreviations({})).compose(built)
    assert len(result.citations) == 1
    assert result.citations[0].quote == longer.citations[0].quote


def test_a_question_asking_for_a_description_gets_one_sentence() -> None:
    described = evidence("Which adverse events did sorafenib cause in renal cell carcinoma patients?")
    counted = evidence("How many patients were enrolled in renal cell carcinoma?")
    assert not described.question.answer_type.numeric and counted.question.answer_type.numeric
    every_sentence = AnswerSettings(
        min_support=0.0, extra_sentence_ratio=0.0, one_sentence_words=0, one_sentence_words_descriptive=0
    )
    for built in (described, counted):
        assert len(ExtractiveComposer(every_sentence, Abbreviations({})).compose(built).citations) > 1
    limited = every_sentence.model_copy(update={"one_sentence_words_descriptive": 10})
    composer = ExtractiveComposer(limited, Abbreviations({}))
    assert len(composer.compose(described).citations) == 1
    assert len(composer.compose(counted).citations) > 1  # a number asked for may need the next sentence


def test_a_heading_is_not_quoted_as_an_answer(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    heading = "Adverse Events of Sorafenib in Refractory Renal Cell Carcinoma Patients"
    text = PASSAGES["mrcc"][1].replace("RESULTS: ", f"{heading}\n\nRESULTS: ")
    monkeypatch.setitem(PASSAGES, "mrcc", (PASSAGES["mrcc"][0], text))
    question = "What adverse events of sorafenib were seen in refractory renal cell carcinoma patients?"
    built = evidence(question)
    assert any(text[s.start : s.end] == heading for s in built.sentences)  # it is a candidate's text
    result = compose(question)
    assert result.citations and all(heading not in c.quote for c in result.citations)
    # A table row in title case holds a value and stays an answer sentence.
    assert not is_heading("Median Overall Survival 10.7 months") and not is_heading("United Kingdom 2.7%")
    assert is_heading("4 Conclusion and Limitations") and is_heading("Were the Waves Caused by One Virus?")
    assert not is_heading("The study was approved by the National Bioethics Committee in Iceland.")
    # A table row with a code or a number in a cell is a row, however capitalized its cells.
    assert not is_heading("Glibenclamide | G0639 | NA | Sigma-Aldrich, UK")
    assert is_heading("Reagent | Catalogue Number | Source")


def test_disclosures_and_test_descriptors_do_not_make_an_answer(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from rag.answer.features import is_non_content_section

    for disclosure in (
        "This work was supported by the Deutsche Forschungsgemeinschaft (KFO210).",
        "Contribution: A.B. and A.N. designed the research and analyzed the data.",
        "The authors have no conflicts of interest to disclose.",
    ):
        assert not is_answer_sentence(disclosure, None)
    assert is_answer_sentence("This hypothesis is supported by the finding that cells divide.", None)
    # A note pointing to a web page is not a finding; a finding naming its source's address is.
    for note in (
        "According to the National Cancer Institute common toxicity criteria, version 2 "
        "(http://www.fda.gov/cder/cancer/toxicityframe.htm)",
        "CDC Summary 21 MAR 2020, https://www.cdc.gov/coronavirus/2019-ncov/cases-updates/summary.html",
    ):
        assert not is_answer_sentence(note, None)
    assert is_answer_sentence(
        "Viral genome sequences were released by Chinese researchers on 10 January and two days later "
        "four further sequences were made available on the Global Initiative on Sharing All Influenza "
        "Data (GISAID) (https://www.gisaid.org/).",
        None,
    )
    assert is_non_content_section("Author contributions") and is_non_content_section("Funding")
    assert not is_non_content_section("The contribution of ILC2 to asthma")
    # "one-sided" does not answer a question about side effects.
    text = "RESULTS: Sorafenib improved survival (one-sided p=0.001) in renal cell carcinoma."
    monkeypatch.setitem(PASSAGES, "mrcc", (PASSAGES["mrcc"][0], text))
    composer = ExtractiveComposer(AnswerSettings(min_support=0.0), Abbreviations({}))
    built = evidence("What were the side effects?")
    survival = [c for c in composer.candidates(built) if "one-sided" in c.text]
    assert survival and survival[0].features[0].words == 0.0


def test_a_link_of_a_web_page_or_a_trial_registration_never_answers(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from rag.answer.sentences import is_navigation, never_answers

    link = "Learn more about the adverse events of sorafenib in renal cell carcinoma."
    finding = "Hand-foot skin reaction and diarrhea were the most common adverse events."
    text = f"RESULTS: {link} {finding}"
    monkeypatch.setitem(PASSAGES, "mrcc", (PASSAGES["mrcc"][0], text))
    result = compose("What adverse events did sorafenib cause in renal cell carcinoma?")
    assert not result.abstained and result.citations
    assert all(link not in c.quote for c in result.citations)
    assert is_navigation(link) and is_navigation("Click here to subscribe.") and is_navigation("Read more")
    # Not a sentence that only begins like one, nor a long one.
    assert not is_navigation("Subscribers were older than the others.")
    assert not is_navigation("Learning more about the virus helps to control it.")
    assert not is_navigation("Read more " + "widely, the trial's results " * 5 + "held.")
    # Nor does where a trial is registered; a person registered with a practice is content.
    registered = "This trial is registered with ClinicalTrials.gov, number NCT00000001."
    monkeypatch.setitem(PASSAGES, "mrcc", (PASSAGES["mrcc"][0], f"RESULTS: {registered} {finding}"))
    result = compose("Which trial registry is the sorafenib renal cell carcinoma trial registered with?")
    assert all(registered not in c.quote for c in result.citations)
    assert never_answers("It was prospectively registered at the Chinese Clinical Trial Registry.")
    assert not never_answers("We sampled 4200 adults registered with a General Medical Practice.")


def test_a_formula_never_answers(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A formula from a PDF's text layer is no answer: "And for MERS?" after a question on the
    R0 of SARS was answered with "Ram : R0,m eXp(— 212:1 O(Rheum)-" (covidqa-followups f51)."""
    from rag.answer.sentences import never_answers

    formula = "Rt,m = R0,m eXp(— Σ αk Ik,t,m)"
    finding = "The reproduction number of sorafenib-treated renal cell carcinoma models was 1.4."
    monkeypatch.setitem(
        PASSAGES, "mrcc", (PASSAGES["mrcc"][0], f"RESULTS: {finding}\n\n{formula}\n\nIt held.")
    )
    result = compose("What was the reproduction number Rt,m in renal cell carcinoma?")
    assert result.citations and all(formula not in c.quote for c in result.citations)
    assert never_answers("Ram : R0,m eXp(— 212:1 O(Rheum)-")
    # Prose, a table row and a row of values each say something.
    assert not never_answers("Eleven patients were accrued.")
    assert not never_answers("Sorafenib | 400 | 12")
    assert not never_answers("Italy 9.8% [3.2%-26%]")


def test_a_caption_never_answers(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A table's caption says what the table shows, not what it found: "What percentage ...?"
    was answered with a bare caption ("Table l: Posterior model estimates of percentage ...")."""
    from rag.answer.sentences import is_caption, never_answers

    caption = "Table 2: Progression-free survival of sorafenib in renal cell carcinoma by subgroup."
    finding = "The median progression-free survival was 4.4 months in renal cell carcinoma."
    monkeypatch.setitem(PASSAGES, "mrcc", (PASSAGES["mrcc"][0], f"RESULTS: {caption} {finding}"))
    result = compose(
        "What was the progression-free survival of sorafenib in renal cell carcinoma by subgroup?"
    )
    assert not result.abstained and result.citations
    assert all(caption not in c.quote for c in result.citations)
    scanned = (
        "Table l: Posterior model estimates of percentage of total population infected as of 28th March 2020"
    )
    for text in (
        scanned,
        "Fig. 3. Tumour growth.",
        "Supplementary Table S2: Primers",
        "Figure IV. Kaplan-Meier",
    ):
        assert is_caption(text), text
    # Prose that names a table or figure is content, and so is a caption that reports a value.
    for text in ("Table 2 shows the forecasted deaths.", "Figure 1 and Table 3 display the interventions."):
        assert not is_caption(text), text
    assert never_answers(scanned)
    assert not never_answers("Figure 6: Left, infection-to-death distribution (mean 23.9 days).")


def test_a_sentence_cut_before_its_end_never_answers(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Where the source had a formula or a line break, the sentence splitter may end a sentence
    early: "The prior distribution for R0 was chosen to be" was quoted as an answer."""
    from rag.answer.sentences import is_unfinished

    cut = "The median progression-free survival of sorafenib in renal cell carcinoma was estimated to be"
    rest = "It lasted 4.4 months in most patients."  # where the splitter had cut it
    monkeypatch.setitem(PASSAGES, "mrcc", (PASSAGES["mrcc"][0], f"RESULTS: {cut}\n{rest}"))
    result = compose("What was the median progression-free survival of sorafenib in renal cell carcinoma?")
    assert all(cut not in c.quote for c in result.citations)  # it was the answer, quoted alone
    for text in (cut, "H3N2 viruses have been cocirculating worldwide for", "64 metabolites showed a."):
        assert is_unfinished(text), text
    # A name ending in a capital letter, an idiom ending in a preposition and a question are whole.
    for text in (
        "It was caused by influenza A.",
        "They cannot prevent it to begin with.",
        "What is it used for?",
        # Nor is a table row with a footnote's letter, or a letter run into a value.
        "Sorafenib | 45% | a",
        "The rate was 45%a.",
    ):
        assert not is_unfinished(text), text


def test_a_sentence_announcing_the_next_is_quoted_with_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from rag.answer.sentences import announces

    lead = "Sorafenib had a number of adverse events in refractory renal cell carcinoma."
    follows = "Hand-foot skin reaction and diarrhea were the most common."
    text = f"RESULTS: Forty-eight patients were enrolled. {lead} {follows} The median PFS was 4.4 months."
    monkeypatch.setitem(PASSAGES, "mrcc", (PASSAGES["mrcc"][0], text))
    question = "Which adverse events did sorafenib have in refractory renal cell carcinoma?"
    result = compose(question)
    quote = result.citations[0].quote
    assert quote == f"{lead} {follows}"  # one exact quote of both sentences
    assert text[result.citations[0].quote_start : result.citations[0].quote_end] == quote
    # Only when both fit the clause limit; a sentence that names its items is quoted alone.
    tight_limit = AnswerSettings(min_support=0.0, clause_chars=len(lead) + 20)
    tight = ExtractiveComposer(tight_limit, Abbreviations({}))
    assert follows not in tight.compose(evidence(question)).citations[0].quote
    # Further sentences never quote it again: every sentence of the passage is close enough to
    # join here, yet each is quoted once, whichever the ranker puts first.
    every = ExtractiveComposer(
        AnswerSettings(min_support=0.0, extra_sentence_ratio=0.0, max_sentences=4), Abbreviations({})
    )
    longer = "Which adverse events did patients taking sorafenib report in metastatic renal cell carcinoma?"
    answer = every.compose(evidence(longer))
    assert len(answer.citations) >= 2
    assert answer.answer.count(follows[:-1]) == 1 and answer.answer.count(lead[:-1]) == 1
    assert announces("The four most used methods are:") and announces("NDV has several appealing qualities.")
    assert not announces("Two cases were asymptomatic.") and not announces("The handsome dog was seen.")


def test_a_question_in_the_text_is_quoted_with_its_answer(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    asks = "Which adverse events did sorafenib have in refractory renal cell carcinoma?"
    answers = "Hand-foot skin reaction and diarrhea were the most common."
    text = f"RESULTS: Forty-eight patients were enrolled. {asks} {answers} The median PFS was 4.4 months."
    monkeypatch.setitem(PASSAGES, "mrcc", (PASSAGES["mrcc"][0], text))
    quote = compose(asks).citations[0].quote
    assert quote == f"{asks} {answers}"  # not the question alone
    # A list of questions is not one quote: the next question answers nothing.
    listed = f"RESULTS: Forty-eight patients were enrolled. {asks} Was the dose reduced? No."
    monkeypatch.setitem(PASSAGES, "mrcc", (PASSAGES["mrcc"][0], listed))
    assert compose(asks).citations[0].quote == asks


def test_a_label_opening_the_line_is_left_out_of_the_quote(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    finding = "The median PFS was 4.4 months in refractory renal cell carcinoma."
    question = "What was the median PFS in refractory renal cell carcinoma?"
    for label in ("Abstract: ", "Conclusion: ", "Patients and methods: "):
        text = f"Forty-eight patients were enrolled.\n{label}{finding}"
        monkeypatch.setitem(PASSAGES, "mrcc", (PASSAGES["mrcc"][0], text))
        result = compose(question)
        citation = result.citations[0]
        assert citation.quote == finding and "…" not in result.answer  # the label is no part of it
        assert text[citation.quote_start : citation.quote_end] == citation.quote
    # A word of the text before a colon stays ("Sorafenib: ..." names the subject), and so does
    # a label inside a line, which is no label.
    for text, quote in (
        (f"Forty-eight patients were enrolled.\nSorafenib: {finding}", f"Sorafenib: {finding}"),
        (f"Forty-eight patients were enrolled. Abstract: {finding}", f"Abstract: {finding}"),
    ):
        monkeypatch.setitem(PASSAGES, "mrcc", (PASSAGES["mrcc"][0], text))
        assert compose(question).citations[0].quote == quote
    # A label before a bare figure says what it counts: it stays.
    for line, kept in (
        ("Patients: 48 (40%).", True),
        ("Patients: Forty-eight patients were enrolled.", False),
    ):
        passage = Passage(1, "d#0", "d", line, "T", None, None, None, None, 1.0, 1)
        candidate = Candidate(passage, 0, len(line), (), (0.0,), 0.0)
        assert (without_label(candidate).start == 0) is kept


def test_a_definition_question_is_answered_by_the_sentence_defining_the_term(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    use = "Sorafenib was given to patients whose renal cell carcinoma was refractory to sunitinib."
    definition = "Sunitinib is a multikinase inhibitor approved in renal cell carcinoma."
    text = f"RESULTS: Forty-eight patients were enrolled. {use} {definition}"
    monkeypatch.setitem(PASSAGES, "mrcc", (PASSAGES["mrcc"][0], text))
    built = evidence("What is sunitinib?")
    by_score = ExtractiveComposer(AnswerSettings(min_support=0.0), Abbreviations({})).candidates(built)
    assert by_score[0].text == use  # the plain score prefers the sentence using the word
    result = compose("What is sunitinib?")
    assert result.citations[0].quote == definition


def test_a_table_row_with_a_value_is_an_answer_sentence() -> None:
    assert is_answer_sentence("Austria 1.1% [0.36%-3.1%]", None)
    assert is_answer_sentence("Median OS 10.7", None)
    assert not is_answer_sentence("Austria Belgium", None)  # a label without a value
    assert not is_answer_sentence("Table 2", None)


def test_a_sentence_holding_every_word_asked_answers_alone() -> None:
    every_sentence = AnswerSettings(
        min_support=0.0, extra_sentence_ratio=0.0, one_sentence_words=0, alone_phrase_share=1.0
    )
    composer = ExtractiveComposer(every_sentence, Abbreviations({}))
    # "Forty-eight patients were enrolled." holds every word the question asks with.
    whole = composer.compose(evidence("How many patients were enrolled?"))
    assert [c.quote for c in whole.citations] == ["Forty-eight patients were enrolled."]
    # One that lacks some of them ("refractory") is followed by the next best sentences.
    assert len(composer.compose(evidence("How many refractory patients were enrolled?")).citations) > 1


def test_a_sentence_repeating_the_questions_wording_answers_alone() -> None:
    from rag.answer.features import phrase_share, run_share, word_pairs
    from rag.answer.question import topic_words

    # The question's pairs: how many, many refractory, refractory patients, patients were, were enrolled.
    pairs = word_pairs(["how", "mani", "refractori", "patient", "were", "enrol"])
    assert phrase_share(pairs, ["forti", "eight", "patient", "were", "enrol"]) == 0.4
    assert phrase_share(pairs, ["enrol", "were", "patient"]) == 0.0  # the words, not in the question's order
    # Its words (refractory, patients, enrolled): the sentence repeats two of the three in a row.
    sentence = topic_words("Forty-eight patients were enrolled.")
    assert run_share(("refractory", "patients", "enrolled"), sentence) == 2 / 3
    strict = AnswerSettings(
        min_support=0.0, extra_sentence_ratio=0.0, one_sentence_words=0, alone_phrase_share=1.0
    )
    built = evidence("How many refractory patients were enrolled?")
    assert len(ExtractiveComposer(strict, Abbreviations({})).compose(built).citations) > 1
    # At 0.6 the pairs (0.4) would not let it stand alone; the run (0.67) does.
    repeats = strict.model_copy(update={"alone_phrase_share": 0.6})
    result = ExtractiveComposer(repeats, Abbreviations({})).compose(built)
    assert [c.quote for c in result.citations] == ["Forty-eight patients were enrolled."]


def test_a_table_row_is_read_with_its_header(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from rag.answer.sentences import is_table_header, table_header, table_start

    header = "Factor | SPAD chlorophyll content | Membrane stability"
    rows = "Genotype | 13.7 | 3.7\nReplication | 4.6 | 3.4"
    table = f"Table 1. Fixed effects analysis of variance.\n{header}\n{rows}"
    text = f"RESULTS: Forty-eight patients were enrolled.\n{table}"
    assert table_header(text, text.index("Genotype")) == header
    assert table_header(text, text.index("Replication")) == header
    assert table_header(text, 0) == "" and table_header(text, text.index("Factor")) == ""
    assert table_start(text, text.index("Replication")) == text.index("Factor")
    assert table_start(text, 0) is None
    # The first row names the columns: it is never an answer, however many words it shares.
    assert is_table_header(text, text.index("Factor"))
    assert not is_table_header(text, text.index("Genotype")) and not is_table_header(text, 0)
    monkeypatch.setitem(PASSAGES, "mrcc", (PASSAGES["mrcc"][0], text))
    # A row is quoted from its table's header, one exact quote, when that fits the clause limit.
    answer = compose("What membrane stability and SPAD chlorophyll content did genotype show?")
    assert answer.citations[0].quote == f"{header}\nGenotype | 13.7 | 3.7"
    built = evidence("Which F ratio was reported for genotype on SPAD chlorophyll content?")
    composer = ExtractiveComposer(AnswerSettings(min_support=0.0), Abbreviations({}))

    def words_of_the_row() -> float:
        return next(c for c in composer.candidates(built) if c.text.startswith("Genotype")).features[0].words

    # The row holds "genotype" only; its header holds most of the rest of what is asked.
    with_header = words_of_the_row()
    monkeypatch.setattr("rag.answer.extractive.table_header", lambda text, start: "")
    assert with_header > 2 * words_of_the_row()
