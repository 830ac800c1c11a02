"""Follow-up questions: how a question is read against the earlier turns, through the library,
POST /ask (history) and /v1/chat/completions (the earlier messages)."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from rag.answer.followup import Turn, classify, resolve, substitute, topic_words
from rag.index.vocabulary import Lexicon
from rag.pipeline import Pipeline
from tests.conftest import QUESTION

RCC = "sorafenib-mrcc-refractory-bevacizumab-sunitinib"
MYELOMA = "swog-s0434-sorafenib-multiple-myeloma"
ENROLLED = "And how many patients were enrolled?"


def test_questions_are_told_apart() -> None:
    assert classify("What about its side effects?") == "refers"
    assert classify("Did those patients respond?") == "refers"
    assert classify("And how many were enrolled?") == "refers"
    assert classify("What was the case fatality rate?") == "refers"  # too few words of its own
    assert classify("And in liver cancer?") == "fragment"
    assert classify("And what about regorafenib?") == "fragment"
    assert classify("And what family does MERS reside in?") == "standalone"  # names its own topic
    assert classify("Which grade 3 toxicities were seen in renal cell carcinoma?") == "standalone"
    # A definite noun with a description of its own names a new study, not the one before.
    new_study = "How was fever defined in the study of early fever as a predictor of response in HCC?"
    assert classify(new_study) == "standalone"
    assert classify("How many patients were enrolled in that study?") == "refers"
    assert classify("What did the trial of those patients find?") == "refers"  # "those patients"
    assert classify("How fast did the man's tumour marker return to normal?") == "refers"
    assert classify("What were the most common adverse events with the combination?") == "refers"
    # "the ones", "the people who", "the sorafenib patients": a reference, even with a modifier.
    assert classify("Did the ones whose scan looked good live longer?") == "refers"
    assert classify("How long did the people who had to cut down to the lower dose live?") == "refers"
    assert classify("How long did the sorafenib patients live compared to the others?") == "refers"
    assert classify("Do patients on the lower dose still live as long?") == "refers"  # "the lower dose"
    assert classify("How did the placebo arm fare?") == "refers"
    assert classify("What dose of sorafenib do liver cancer patients take?") == "standalone"
    assert classify("What was the median overall survival in the SHARP trial?") == "standalone"  # a name
    # "How many were ...", "How many died?": counted among the people of the earlier turn.
    assert classify("How many were still alive after a year?") == "refers"
    assert classify("How many died during treatment?") == "refers"
    assert classify("How many were infected with MERS in Jeddah?") == "standalone"
    # A condition that says no more than its preposition leaves a fragment.
    assert classify("And when it's used for thyroid cancer?") == "fragment"
    assert classify("If given with G-CSF?") == "fragment"
    # "The tumour" is no reference when the question names its own drug (a new topic).
    assert classify("By how much did frondasertib shrink the tumour volume?") == "standalone"


def test_a_refers_back_question_carries_the_topic_along_a_chain() -> None:
    first = "What was the median PFS of sorafenib in renal cancer after bevacizumab?"
    assert topic_words(first) == ("sorafenib", "renal", "cancer", "after", "bevacizumab")
    assert topic_words("What is regorafenib?") == ("regorafenib",)  # about what it asks for
    # A name is carried whole, and known by its words: "SARS CoV" would be another virus.
    receptor = [Turn("What receptor does SARS-CoV-2 use to enter cells?")]
    words = {"receptor", "sars", "cov", "use", "enter", "cells"}
    assert resolve("Which protein binds to it?", receptor, known=lambda w: w.lower() in words).query == (
        "SARS-CoV-2 use enter cells: Which protein binds to it?"
    )
    # A name typed in other capitals than the corpus's, which knows acronyms case-sensitively:
    # what `Asker` passes as `known` (Lexicon.contains_in_any_case) still carries it.
    mild = [Turn("What do mild presentations of 2019-nCOV indicate?")]
    spelled = ["nCoV", "ncov", "mild", "presentations", "indicate"]
    lexicon = Lexicon(
        spelled, np.ones(len(spelled), dtype=np.int64), np.eye(len(spelled), 8, dtype=np.float32), 5
    )
    assert not lexicon.contains("nCOV") and lexicon.contains_in_any_case("nCOV")
    assert resolve("Who has it worse?", mild, known=lexicon.contains_in_any_case).query == (
        "mild presentations 2019-nCOV indicate: Who has it worse?"
    )
    # A variant named by a letter or digit is carried with it: "hepatitis" alone is also B.
    hepatitis = [Turn("Does sorafenib work better in liver cancer from hepatitis C?")]
    known = {"sorafenib", "work", "better", "liver", "cancer", "from", "hepatitis"}
    assert resolve("How long did it keep working?", hepatitis, known=lambda w: w.lower() in known).query == (
        "sorafenib work better liver cancer from hepatitis C: How long did it keep working?"
    )
    assert topic_words("How many had grade 3 toxicity in phase 2?") == ("grade 3", "toxicity", "phase 2")
    assert topic_words("Were patients 2, 3 and 5 treated?") == ("patients", "treated")
    assert topic_words("Does it work in hepatitis C-related cancer?")[:2] == ("work", "hepatitis C")
    assert topic_words("Were grade 3-4 events seen?")[0] == "grade"
    history = [Turn(first, doc_ids=(RCC,)), Turn("What about its side effects?")]
    resolved = resolve(ENROLLED, history)
    assert resolved.kind == "refers"
    assert resolved.query == "sorafenib renal cancer after bevacizumab: How many patients were enrolled?"
    assert resolved.prefer == ()  # the turn it follows cited nothing known: the caller looks it up
    assert resolve("Its side effects?", history[:1]).prefer == (RCC,)
    # Words of an earlier turn that the corpus does not use are not carried as its topic.
    chatty = [Turn("My mum has thyroid cancer that doesn't respond to iodine. Can sorafenib help her?")]
    corpus = {"thyroid", "cancer", "respond", "iodine", "sorafenib", "help"}
    assert resolve("Does it help people live longer?", chatty, known=corpus.__contains__).query == (
        "thyroid cancer respond iodine sorafenib help: Does it help people live longer?"
    )
    assert "mum" in resolve("Does it help people live longer?", chatty).query
    # One that says the topic changes is read without saying so, and carries nothing along.
    changed = resolve("Unrelated, but how many were enrolled?", history)
    assert changed.kind == "standalone" and changed.query == "how many were enrolled?"
    assert resolve("Different question: what dose was used?", history).query == "what dose was used?"
    assert resolve("Totally different thing: what dose was used?", history).query == "what dose was used?"
    assert resolve("Another question entirely - what dose?", history).query == "what dose?"
    assert resolve("Different studies report what?", history).kind == "refers"
    # A question with its own topic is read as asked, even mid-conversation.
    standalone = "Which grade 3 toxicities were seen in renal cell carcinoma?"
    assert resolve(standalone, history).query == standalone


def test_a_fragment_replaces_the_phrase_or_the_word_it_stands_for() -> None:
    before = "What is the mortality rate of Venezuelan equine encephalitis virus in children?"
    assert substitute(before, "in adults", None) == (
        "What is the mortality rate of Venezuelan equine encephalitis virus in adults?"
    )
    assert substitute("What dose was used?", "in children", None) == "What dose was used in children?"
    vectors = {"regorafenib": [1.0, 0.1], "sorafenib": [0.9, 0.2], "dose": [0.0, 1.0], "HCC": [0.2, 0.9]}

    def embed(texts: list[str]) -> np.ndarray:
        rows = np.array([vectors.get(t, [0.0, 0.0]) for t in texts], dtype=np.float32)
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)

    question = "What dose of sorafenib in HCC?"
    assert substitute(question, "regorafenib", embed) == "What dose of regorafenib in HCC?"
    assert substitute(question, "placebo", embed) is None  # nothing similar enough to replace
    # One word swaps ("the regorafenib one"); a phrase is a new focus or group, not words to swap.
    assert substitute(question, "the regorafenib one", embed) == "What dose of regorafenib in HCC?"
    assert substitute(question, "the regorafenib fatality rate", embed) is None
    assert substitute(question, "regorafenib patients", embed) is None
    assert substitute(question, "regorafenib's", embed) == "What dose of regorafenib in HCC?"
    assert resolve("And what about placebo?", [Turn(question)], embed).kind == "refers"


def test_a_fragment_with_a_preposition_the_question_lacks_replaces_the_similar_word() -> None:
    vectors = {"MERS": [0.7, 0.7], "SARS": [0.6, 0.8], "R0": [1.0, 0.0], "children": [-1.0, 0.0]}

    def embed(texts: list[str]) -> np.ndarray:
        rows = np.array([vectors.get(t, [0.0, -1.0]) for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    question = "What was the R0 of SARS?"
    assert substitute(question, "for MERS", embed) == "What was the R0 of MERS?"
    assert substitute(question, "for children", embed) == "What was the R0 of SARS for children?"
    # The topic carried before an earlier follow-up is context: the asked part takes the word.
    vectors.update({"survival": [0.0, 1.0], "cancer": [0.05, 1.0], "recurrence": [0.5, 0.9]})
    carried = "sorafenib surgery liver cancer: Did it reduce recurrence?"
    assert substitute(carried, "survival", embed) == "sorafenib surgery liver cancer: Did it reduce survival?"
    # A phrase is a condition added, not words each swapped for the most similar ("R0 MERS").
    assert substitute(question, "for MERS patients", embed) == "What was the R0 of SARS for MERS patients?"


def test_a_follow_up_on_another_disease_drops_the_old_one() -> None:
    first = "How long do people with liver cancer live on sorafenib?"
    # A fragment that is a disease takes the earlier disease's place (its whole name).
    assert resolve("And for acute myeloid leukaemia?", [Turn(first)]).query == (
        "How long do people with acute myeloid leukaemia live on sorafenib?"
    )
    assert resolve("And for advanced kidney cancer?", [Turn(first)]).query == (
        "How long do people with advanced kidney cancer live on sorafenib?"
    )
    # A question that refers back keeps its topic without the old disease, and no old documents.
    decides = "What decides how long someone with liver cancer will live on sorafenib?"
    resolved = resolve("What about when it's kidney cancer that has spread?", [Turn(decides, doc_ids=(RCC,))])
    assert resolved.kind == "refers" and resolved.changes_disease and resolved.prefer == ()
    assert "liver" not in resolved.query and "sorafenib" in resolved.query
    same = resolve("What about its side effects in liver cancer?", [Turn(decides, doc_ids=(RCC,))])
    assert not same.changes_disease and same.prefer == (RCC,)
    # Another name of the same disease is no change: the embedding model says how close names are.
    vectors = {"kidney cancer": [1.0, 0.0], "renal cell carcinoma": [0.9, 0.3], "cell carcinoma": [0.5, 0.8]}

    def embed(texts: list[str]) -> np.ndarray:
        rows = np.array([vectors.get(t, [0.0, 1.0]) for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    # The whole name goes, qualifiers and all: no "renal leukaemia".
    dose = "sorafenib renal cell carcinoma: What dose did they use?"
    assert resolve("And in leukaemia?", [Turn(dose)]).query == "sorafenib leukaemia: What dose did they use?"
    pfs = "What was the PFS in renal cell carcinoma?"
    assert resolve("And its side effects in kidney cancer?", [Turn(pfs, doc_ids=(RCC,))], embed).prefer == (
        RCC,
    )
    assert resolve("And in kidney cancer?", [Turn(pfs)], embed).query == "What was the PFS in kidney cancer?"
    # A group or a condition is asked within the disease, never in its place.
    events = "What adverse events does sorafenib cause in renal cell carcinoma?"
    assert resolve("What about in children?", [Turn(events)], embed).query == (
        "What adverse events does sorafenib cause in renal cell carcinoma in children?"
    )
    aml = "Does sorafenib work in acute myeloid leukaemia?"
    assert resolve("And with chemotherapy?", [Turn(aml)], embed).query == (
        "Does sorafenib work in acute myeloid leukaemia with chemotherapy?"
    )
    # A tumour named by its organ is the disease a fragment replaces; "tumor thrombus" is none.
    shrink = "Does sorafenib actually shrink liver tumours, or does it just stop them growing?"
    assert resolve("And for leukaemia?", [Turn(shrink)]).query == (
        "Does sorafenib actually shrink leukaemia, or does it just stop them growing?"
    )
    thrombus = "How long do people with portal vein tumour thrombus live on sorafenib?"
    assert resolve("And for leukaemia?", [Turn(thrombus)]).query == f"{thrombus[:-1]} for leukaemia?"
    # The verb after its subject stays a verb: no "Does sorafenib leukaemia patients ...".
    helps = "Does sorafenib help renal cell carcinoma patients live longer?"
    assert (
        resolve("And for leukaemia?", [Turn(helps)]).query
        == "Does sorafenib help leukaemia patients live longer?"
    )
    treats = "Does it treat acute myeloid leukaemia?"
    assert resolve("And for kidney cancer?", [Turn(treats)]).query == "Does it treat kidney cancer?"
    # Another disease under a condition asks the earlier question of it, condition added.
    doses = "Which adverse events make people with liver cancer cut down their sorafenib dose?"
    gcsf = resolve("And for leukaemia, when it's given together with G-CSF?", [Turn(doses, doc_ids=(RCC,))])
    assert gcsf.query == (
        "Which adverse events make people with leukaemia cut down their sorafenib dose, "
        "when it's given together with G-CSF?"
    )
    assert gcsf.kind == "fragment" and gcsf.prefer == ()
    # Without another disease it is no such question: the topic is carried as before.
    same = resolve("And for liver cancer, when it's given with G-CSF?", [Turn(doses, doc_ids=(RCC,))])
    assert same.kind == "refers" and same.prefer == (RCC,)


def test_a_fragment_that_is_a_name_or_a_condition_takes_its_place() -> None:
    first = "How many people on sorafenib alone were still alive after one year?"
    later = resolve("And after two years?", [Turn(first, doc_ids=(RCC,))])
    assert later.query == "How many people on sorafenib alone were still alive after two years?"
    assert later.prefer == ()  # a new question
    # A name takes the place of the earlier question's name, however far apart their meanings.
    incubation = "What is the incubation period of COVID-19?"
    assert resolve("And for SARS?", [Turn(incubation)]).query == "What is the incubation period of SARS?"
    assert resolve("What about MERS-CoV?", [Turn(incubation)]).query == (
        "What is the incubation period of MERS-CoV?"
    )
    side_effects = "What adverse events does sorafenib usually cause in renal cell carcinoma?"
    thyroid = resolve("And when it's used for thyroid cancer?", [Turn(side_effects, doc_ids=(RCC,))])
    assert thyroid.query == "What adverse events does sorafenib usually cause in thyroid cancer?"
    assert thyroid.prefer == ()
    # A name after a preposition swaps the name that opens the earlier phrase, nothing after it;
    # a phrase opened by another word is replaced whole.
    hands = "How often do liver cancer patients on sorafenib get a really bad reaction on the hands?"
    assert resolve("And on regorafenib?", [Turn(hands)]).query == hands.replace(" sorafenib", " regorafenib")
    assert resolve("And with sorafenib?", [Turn("What was OS with placebo in RESORCE?")]).query == (
        "What was OS with sorafenib in RESORCE?"
    )
    # The name before the phrase, asked about by itself: no "sorafenib with sorafenib alone".
    combined = "What was the response rate of sorafenib with G-CSF and plerixafor in AML?"
    assert resolve("And with sorafenib alone?", [Turn(combined)]).query == (
        "What was the response rate of sorafenib alone in AML?"
    )
    # A person named definitely takes the earlier person's place.
    man = "How long did the 55 year old man respond to sorafenib?"
    assert resolve("And the 75 year old woman?", [Turn(man)]).query == (
        "How long did the 75 year old woman respond to sorafenib?"
    )


@pytest.mark.integration
def test_a_conversation_through_the_pipeline(pipeline: Pipeline) -> None:
    first = pipeline.ask(QUESTION)
    assert first.resolved_question is None and "4.4 months" in first.answer
    history = [Turn(QUESTION, first.answer, tuple(c.passage.doc_id for c in first.citations))]
    follow = pipeline.ask(ENROLLED, history=history)
    assert "Forty-eight" in follow.answer and {c.passage.doc_id for c in follow.citations} == {RCC}
    assert follow.resolved_question is not None and "sorafenib" in follow.resolved_question
    alone = pipeline.ask(ENROLLED)
    assert "Forty-eight" not in alone.answer  # the question alone does not say which study
    # Without the cited documents the earlier question's best document is looked up instead.
    assert "Forty-eight" in pipeline.ask(ENROLLED, history=[Turn(QUESTION)]).answer
    # A change of topic is not forced onto the old one.
    changed = pipeline.ask("Which grade 3 toxicities were seen in multiple myeloma?", history=history)
    assert changed.citations and {c.passage.doc_id for c in changed.citations} == {MYELOMA}


@pytest.mark.integration
def test_a_count_stays_with_the_study_and_a_condition_swaps_the_disease(
    pipeline: Pipeline,
) -> None:
    rfa = (
        "Does radiofrequency ablation added to sorafenib help liver cancer with portal vein tumour thrombus?"
    )
    first = pipeline.ask(rfa)
    history = [Turn(rfa, first.answer, tuple(c.passage.doc_id for c in first.citations))]
    alive = pipeline.ask("How many were still alive after two years?", history=history)
    assert "35%" in alive.answer
    assert {c.passage.doc_id for c in alive.citations} == {"giorgio-2016-sorafenib-combined-radio-frequency"}
    dose = pipeline.ask("What dose is used?", history=[Turn("What is regorafenib?")])
    assert "160 mg" in dose.answer
    events = "What are the most common adverse events of sorafenib in renal cell carcinoma?"
    myeloma = pipeline.ask("And when it is given for multiple myeloma?", history=[Turn(events)])
    assert (
        myeloma.resolved_question
        == "What are the most common adverse events of sorafenib in multiple myeloma?"
    )
    assert {c.passage.doc_id for c in myeloma.citations} == {MYELOMA}


@pytest.mark.integration
def test_a_follow_up_on_another_disease_is_answered_from_its_documents(pipeline: Pipeline) -> None:
    decides = "What decides how long someone with liver cancer will live on sorafenib?"
    first = pipeline.ask(decides)
    history = [Turn(decides, first.answer, tuple(c.passage.doc_id for c in first.citations))]
    follow = pipeline.ask("What about when it's kidney cancer that has spread?", history=history)
    assert {c.passage.doc_id for c in follow.citations} == {"gu-2016-prognostic-value-pathological-features"}


@pytest.mark.integration
def test_earlier_turns_are_read_before_their_topic_is_carried(pipeline: Pipeline) -> None:
    # "kidney" is not a word of the corpus; the earlier question as read says "renal cell carcinoma".
    history = [Turn("Does sorafenib help with kidney cancer?")]
    follow = pipeline.ask("What dose did they use?", history=history)
    assert follow.resolved_question is not None and "renal cell carcinoma" in follow.resolved_question
    kidney = {RCC, "oya-2016-little-impact-renal-function", "gu-2016-prognostic-value-pathological-features"}
    assert follow.citations and {c.passage.doc_id for c in follow.citations} <= kidney


@pytest.mark.integration
def test_ask_takes_the_earlier_turns(client: TestClient) -> None:
    history = [{"question": QUESTION, "doc_ids": [RCC]}]
    body = client.post("/ask", json={"question": ENROLLED, "history": history}).json()
    assert "Forty-eight" in body["answer"] and "sorafenib" in body["resolved_question"]
    assert client.post("/ask", json={"question": QUESTION}).json()["resolved_question"] is None
    too_long = client.post("/ask", json={"question": ENROLLED, "history": [{"question": "q"}] * 21})
    assert too_long.status_code == 422 and "history" in str(too_long.json())
    unknown = client.post(
        "/ask", json={"question": ENROLLED, "history": [{"question": QUESTION, "doc_ids": ["nope"]}]}
    )
    assert unknown.status_code == 200  # an unknown earlier document is not held against the question


@pytest.mark.integration
def test_chat_completions_read_the_last_message_against_the_earlier_ones(client: TestClient) -> None:
    first = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]})
    reply = first.json()["choices"][0]["message"]
    messages = [
        {"role": "system", "content": "Answer from the documents."},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": reply["content"], "citations": reply["citations"]},
        {"role": "user", "content": ENROLLED},
    ]
    second = client.post("/v1/chat/completions", json={"messages": messages}).json()
    assert "Forty-eight" in second["choices"][0]["message"]["content"]
    # A client that sends the text back without our citations is served as well.
    plain = [*messages[:2], {"role": "assistant", "content": reply["content"]}, messages[3]]
    assert (
        "Forty-eight"
        in client.post("/v1/chat/completions", json={"messages": plain}).json()["choices"][0]["message"][
            "content"
        ]
    )


@pytest.mark.integration
def test_a_follow_up_on_a_disease_no_document_is_about_is_declined(client: TestClient) -> None:
    first = "What dose of regorafenib was given in the RESORCE trial?"
    answered = client.post("/ask", json={"question": first}).json()
    assert "160 mg" in answered["answer"]
    history = [{"question": first, "doc_ids": [c["doc_id"] for c in answered["citations"]]}]
    body = client.post("/ask", json={"question": "And in colorectal cancer?", "history": history}).json()
    assert body["abstained"] is True and body["citations"] == []
    assert body["reason"] == "other disease: 'colorectal cancer'"
    assert "regorafenib" in body["resolved_question"]


def test_a_fragments_acronym_replaces_the_earlier_name_nearest_in_meaning(pipeline: Pipeline) -> None:
    # Compared as the corpus spells them out ("stereotactic body radiation therapy", "quality-
    # adjusted life year"), SBRT stands for the other treatment, not for the unit of the cost.
    history = [Turn("What is the cost of sorafenib per QALY in Taiwan?")]
    answer = pipeline.ask("And for SBRT?", history=history)
    assert answer.resolved_question == "What is the cost of SBRT per QALY in Taiwan?"
