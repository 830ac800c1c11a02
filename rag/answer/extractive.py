"""The extractive composer, the default: it quotes the best sentences and cites them.

Every citation is correct by construction: its quote is `passage.text[quote_start:quote_end]`
(rag/answer/quoting.py).

The extractive composer scores every sentence of the retrieved passages against each part
of the question ("How many were enrolled, and what dose was used?" has two parts), decides
which document the question is about, and answers each part with that document's best
sentence. A question across studies ("Which studies ...?") gets one sentence per document.
"""

from __future__ import annotations

import re
from dataclasses import replace

from rag.answer.abstain import drugs_named, names_drug
from rag.answer.composition import Candidate, Composition, abstain
from rag.answer.definitions import defined_term, defines
from rag.answer.evidence import Evidence
from rag.answer.features import (
    Features,
    Weights,
    answer_type_match,
    coverage,
    focus_match,
    local_weights,
    measure_match,
    phrase_share,
    run_share,
    sentence_role,
    word_pairs,
)
from rag.answer.lay_terms import with_equivalents
from rag.answer.question import AnswerType, Question, topic_words
from rag.answer.quoting import Quoter, without_label
from rag.answer.ranking import SHIPPED_RANKER, SentenceRanker, load_sentence_ranker
from rag.answer.sentences import (
    is_answer_sentence,
    is_table_header,
    never_answers,
    table_header,
)
from rag.answer.support import SHIPPED_MODEL, SupportModel, load_support_model, support_features
from rag.answer.topic import (
    DocumentTerms,
    about_other_disease,
    context_scores,
    document_terms,
    documents_naming,
)
from rag.documents import Passage, SentenceRecord, Support
from rag.settings import AnswerSettings
from rag.text import stem
from rag.text.abbreviations import Abbreviations
from rag.text.analyzer import Analyzer, content_terms

REDUNDANT_OVERLAP = 0.6
# A document is "what the question is about" when its context score is this close to the best.
ON_TARGET_MARGIN = 0.12
# How a statistical test was run ("one-sided p<0.001", "two-tailed", "one-way ANOVA"): its words
# are not the sentence's subject ("side" is not what "side effects" asks about).
TEST_DESCRIPTOR = re.compile(r"\b(?:one|two|1|2)[- ](?:sided|tailed|way)\b", re.I)


def _on_the_drugs_asked(candidates: list[Candidate], evidence: Evidence) -> list[Candidate]:
    """The candidates less the sentences that name drugs but none the question names: "hand-foot
    skin reaction (47 patients [13%] in the regorafenib group)" reports another drug's rates
    than sorafenib's, though its document names both. All the candidates when every one is
    such a sentence, and for a question asking for a description, which may be another drug
    ("what other tablet can be tried?", "which inhibitor was approved second?")."""
    asked = {word.lower() for word in evidence.named if names_drug(word)}
    if not asked or evidence.question.answer_type is AnswerType.DESCRIPTION:
        return candidates
    kept = [c for c in candidates if not (drugs := drugs_named(c.text)) or drugs & asked]
    return kept or candidates


class ExtractiveComposer:
    def __init__(
        self,
        settings: AnswerSettings,
        abbreviations: Abbreviations,
        weights: Weights | None = None,
        *,
        score_support: bool = True,
    ) -> None:
        """`score_support`: False leaves answers without a support probability (what `rag
        train` composes with, before there is a model to score with)."""
        self._settings = settings
        self._analyzer = Analyzer(abbreviations)
        self._quoter = Quoter(settings.clause_chars, self._analyzer)
        self._weights = weights or Weights()
        self._ranker: SentenceRanker | None = None
        if settings.rank_sentences:
            self._ranker = load_sentence_ranker(settings.sentence_ranker or SHIPPED_RANKER)
        self._support_model: SupportModel | None = None
        self._min_probability = 0.0
        if score_support:
            self._support_model = load_support_model(settings.support_model or SHIPPED_MODEL)
            self._min_probability = (
                self._support_model.threshold
                if settings.min_support_probability is None
                else settings.min_support_probability
            )

    def compose(self, evidence: Evidence) -> Composition:
        pool = self.pool(evidence)
        if isinstance(pool, Composition):
            return pool
        candidates = pool
        ranker = self._ranker if self.rankable(evidence) else None
        if ranker is not None:
            head = ranker.order(candidates, evidence, self._analyzer)
            candidates = [candidates[i] for i in head] + candidates[len(head) :]
        ranked = ranker is not None
        # Left out after the ranker, not from the candidates it orders (see never_answers).
        candidates = [c for c in candidates if not never_answers(c.text)]
        if not candidates:
            return abstain("no article content", candidates=pool)
        candidates = _on_the_drugs_asked(candidates, evidence)
        selection = (
            self._select_per_document(candidates)
            if evidence.question.is_list
            else self._select_for_parts(candidates, evidence, ranked=ranked)
        )
        if isinstance(selection, Composition):
            return selection
        chosen = self._without_repeats(selection, evidence)
        # Weak support is the passages' (their best sentence's hand-set score), not the ranker's
        # choice's: a sentence the ranker prefers may repeat fewer of the question's words.
        best = max([c.score for c in chosen] + ([pool[0].score] if ranked and chosen else []), default=0.0)
        if best < self._settings.min_support:
            return abstain(f"weak support (best score {best:.3f})", candidates=candidates)
        features = support_features(chosen, candidates, evidence)
        composition = replace(self._quoter.render(chosen, candidates, evidence), support_features=features)
        model = self._support_model
        if model is None:
            return composition
        probability = model.probability(features)
        if probability < self._min_probability:
            return abstain(
                f"unlikely support (probability {probability:.2f} < {self._min_probability:.2f})",
                candidates=candidates,
            )
        chosen_by = ranker.name if ranker is not None else None
        return replace(composition, support=Support(round(probability, 4), model.name, chosen_by))

    def pool(self, evidence: Evidence) -> list[Candidate] | Composition:
        """The sentences an answer is chosen from, by hand-set score, best first; or the
        abstention when the passages cannot answer (a term the documents lack, named things no
        passage discusses together, only other diseases than the one asked about)."""
        if evidence.absent_terms:
            absent = _join_or([f"'{t}'" for t in evidence.absent_terms])
            return abstain(f"absent: {absent}", f"The documents do not mention {absent}.")
        terms = document_terms(evidence.passages, self._analyzer)
        naming = documents_naming(evidence, terms, self._analyzer)
        # One named thing no passage at hand names ("lenvatinib" asked of the leukaemia papers) is
        # not answered from passages about something else, nor are two no passage names together.
        if not naming and len(evidence.named) == 1:
            named = f"'{evidence.named[0]}'"
            return abstain(f"not named: {named}", f"No passage found names {named}.")
        if not naming and evidence.named:
            named = _join_and([f"'{w}'" for w in evidence.named])
            return abstain(f"named apart: {named}", f"No passage discusses {named} together.")
        documents = naming or set(terms.text)
        other_disease = about_other_disease(evidence)
        if documents and documents <= other_disease:
            asked = _join_or([f"'{d}'" for d in evidence.diseases])
            detail = f"The passages found are about other diseases than {asked}."
            return abstain(f"other disease: {asked}", detail)
        candidates = self.candidates(evidence, terms, documents - other_disease)
        return candidates or abstain("no passages")

    @property
    def analyzer(self) -> Analyzer:
        return self._analyzer

    @staticmethod
    def rankable(evidence: Evidence) -> bool:
        """Whether the sentence ranker chooses the answer: a question of one part that is not
        a list (a list takes each study's best sentence, each part of a longer question its
        own, by hand-set score)."""
        return len(evidence.parts) == 1 and not evidence.question.is_list

    def render_alone(
        self, candidate: Candidate, candidates: list[Candidate], evidence: Evidence
    ) -> Composition:
        """The answer `candidate` would give alone, as shown (what the sentence ranker learns
        to hold the answer)."""
        return self._quoter.render([candidate], candidates, evidence)

    def candidates(
        self, evidence: Evidence, terms: DocumentTerms | None = None, documents: set[str] | None = None
    ) -> list[Candidate]:
        """Sentences of the passages (of `documents` only, when given), scored against each
        question part, best first."""
        by_row = {p.row_id: p for p in evidence.passages if documents is None or p.doc_id in documents}
        terms = terms or document_terms(evidence.passages, self._analyzer)
        sentences: list[tuple[SentenceRecord, Passage, str, list[str], set[str]]] = []
        seen: set[tuple[str, str]] = set()
        for record in evidence.sentences:
            passage = by_row.get(record.chunk_row)
            if passage is None:
                continue
            text = passage.text[record.start : record.end]
            if (
                (passage.doc_id, text) in seen
                or not is_answer_sentence(text, record.section)
                or is_table_header(passage.text, record.start)
            ):
                continue
            seen.add((passage.doc_id, text))
            tokens = self._analyzer.tokens(TEST_DESCRIPTOR.sub(" ", text), passage.doc_id)
            stems = with_equivalents(set(content_terms(tokens)), evidence.equivalents)
            header = table_header(passage.text, record.start)
            if header:
                stems |= set(content_terms(self._analyzer.tokens(header, passage.doc_id)))
            sentences.append((record, passage, text, tokens, stems))
        # Words that most candidate sentences share (the drug, the disease) say little about
        # which sentence answers; weigh each question word by how rare it is among them too.
        all_stems = [stems for *_, stems in sentences]
        part_weights = [local_weights(part.sentence_weights, all_stems) for part in evidence.parts]
        doc_context = context_scores(evidence, terms)
        top_score = max((p.score for p in evidence.passages), default=0.0) or 1.0
        doc_retrieval: dict[str, float] = {}
        for p in evidence.passages:
            doc_retrieval[p.doc_id] = max(doc_retrieval.get(p.doc_id, 0.0), p.score / top_score)
        scored = []
        for record, passage, text, tokens, stems in sentences:
            sequence = stem(tokens)
            features = tuple(
                Features(
                    meaning=float(record.vector @ part.vector),
                    words=coverage(weights, stems),
                    context=doc_context[passage.doc_id],
                    retrieval=doc_retrieval[passage.doc_id],
                    answer_type=answer_type_match(part.question, text),
                    focus=focus_match(part.focus_stems, stems, text),
                    measure=measure_match(part.measure_stems, sequence),
                    role=sentence_role(record.section, text, part.question.intent),
                )
                for part, weights in zip(evidence.parts, part_weights, strict=True)
            )
            scores = tuple(f.score(self._weights) for f in features)
            scored.append(
                Candidate(
                    passage,
                    record.start,
                    record.end,
                    features,
                    scores,
                    doc_context[passage.doc_id],
                )
            )
        scored.sort(key=lambda c: (-c.score, c.passage.rank, c.start))
        return scored

    def _select_for_parts(
        self, candidates: list[Candidate], evidence: Evidence, *, ranked: bool
    ) -> list[Candidate] | Composition:
        """The best sentence for each part from the document the question is about. `ranked`:
        the candidates arrive in the sentence ranker's order, which picks the sentence; otherwise
        the hand-set score does."""
        # The documents the question is about: those whose words it uses most, and the one
        # holding the best sentence overall (a paraphrase may share few words with it).
        best_context = max(c.context for c in candidates)
        by_context = [c for c in candidates if c.context >= best_context - ON_TARGET_MARGIN]
        top_doc = candidates[0].passage.doc_id
        on_target = [c for c in candidates if c in by_context or c.passage.doc_id == top_doc]
        chosen: list[Candidate] = []
        target_doc: str | None = None
        for index, part in enumerate(evidence.parts):
            if part.measure_stems:
                # A precise statistic ("median OS") is answered only by a sentence that reports
                # it, in a document the question names, not in any other study that does.
                pool = [c for c in by_context if target_doc is None or c.passage.doc_id == target_doc]
                pool = [c for c in pool if c.reports_measure(index)]
                if not pool:
                    if len(evidence.parts) == 1:
                        measure = " ".join(part.question.measure)
                        return abstain(
                            f"measure not reported: {measure}",
                            f"No passage reports the {measure} asked about.",
                            candidates,
                        )
                    continue
            else:
                pool = [c for c in on_target if target_doc is None or c.passage.doc_id == target_doc]
                term = defined_term(part.question.text)
                if term:
                    pool = [c for c in pool if defines(c.text, term)] or pool
            best = pool[0] if ranked else max(pool, key=lambda c: (c.scores[index], -c.passage.rank))
            target_doc = target_doc or best.passage.doc_id
            if best not in chosen:
                chosen.append(best)
        if not chosen:
            return abstain("no part answered", candidates=candidates)
        question = evidence.question
        one_sentence = self._settings.one_sentence_words
        if not question.answer_type.numeric:
            one_sentence = max(one_sentence, self._settings.one_sentence_words_descriptive)
        if len(question.content_words) <= one_sentence:
            return chosen  # a short question, or a description asked for, wants one thing
        if len(evidence.parts) == 1 and chosen[0].features[0].words >= 1.0:
            return chosen  # the sentence holds every word the question asks with: it answers alone
        if len(evidence.parts) == 1 and self._repeats_question(chosen[0], question):
            return chosen  # the question was written from this sentence: it answers alone
        return self._with_further_sentences(chosen, candidates, evidence)

    def _repeats_question(self, candidate: Candidate, question: Question) -> bool:
        """Whether the sentence holds at least `alone_phrase_share` of the question's adjacent
        word pairs in order, or repeats that share of its words in a row."""
        share = self._settings.alone_phrase_share
        if run_share(question.content_words, topic_words(candidate.text)) >= share:
            return True
        pairs = word_pairs(content_terms(self._analyzer.tokens(question.text)))
        terms = content_terms(self._analyzer.tokens(candidate.text, candidate.passage.doc_id))
        return bool(pairs) and phrase_share(pairs, terms) >= share

    def _with_further_sentences(
        self, chosen: list[Candidate], candidates: list[Candidate], evidence: Evidence
    ) -> list[Candidate]:
        """`chosen` and the other sentences of its document that score close to its best."""
        target_doc = chosen[0].passage.doc_id
        top = max(c.score for c in chosen)
        chosen = list(chosen)
        for candidate in candidates:
            if len(chosen) >= self._settings.max_sentences:
                break
            if candidate.passage.doc_id != target_doc or candidate in chosen or _redundant(candidate, chosen):
                continue
            if sum(len(c.text) for c in chosen) + len(candidate.text) > self._settings.extra_sentence_chars:
                continue
            if candidate.score >= self._settings.extra_sentence_ratio * top and all(
                not p.measure_stems or candidate.reports_measure(i) for i, p in enumerate(evidence.parts)
            ):
                chosen.append(candidate)
        return chosen

    def _select_per_document(self, candidates: list[Candidate]) -> list[Candidate]:
        """One sentence per document: its best, scored like any answer sentence (against the
        question part it answers best), for every document that scores close to the top."""
        documents: dict[str, list[Candidate]] = {}
        for candidate in candidates:
            documents.setdefault(candidate.passage.doc_id, []).append(candidate)
        top = candidates[0].score
        chosen = []
        for group in documents.values():
            if group[0].score < max(0.6 * top, self._settings.min_support):
                continue
            chosen.append(group[0])  # candidates arrive best first
        return chosen[: self._settings.max_list_sources]

    def _without_repeats(self, chosen: list[Candidate], evidence: Evidence) -> list[Candidate]:
        """`chosen` without a sentence whose quote repeats one already quoted: a quote continued
        into the sentence after it ("Several targeted therapies have demonstrated efficacy
        against psoriasis. More research ...") is not followed by that sentence again, nor
        preceded by it; nor is a sentence that two overlapping chunks both hold quoted twice."""
        if len(chosen) < 2:
            return chosen  # nothing to repeat (and the quote is worked out once, by _render)
        kept: list[tuple[Candidate, str, str]] = []  # each with its sentence and its quote
        for candidate in chosen:
            sentence = without_label(candidate).text.strip()
            quote = self._quoter.shown(candidate, evidence).text
            if any(
                other.passage.doc_id == candidate.passage.doc_id
                and (sentence in other_quote or other_sentence in quote)
                for other, other_sentence, other_quote in kept
            ):
                continue
            kept.append((candidate, sentence, quote))
        return [candidate for candidate, _, _ in kept]


def _join_or(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _join_and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _redundant(candidate: Candidate, chosen: list[Candidate]) -> bool:
    """Mostly the same words as a sentence already chosen (the overlap of two chunks aside,
    abstracts repeat their key result in the conclusion)."""
    words = set(candidate.text.lower().split())
    return any(
        len(words & (other := set(c.text.lower().split()))) / len(words | other) >= REDUNDANT_OVERLAP
        for c in chosen
    )
