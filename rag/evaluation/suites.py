"""Question sets to evaluate on, each with the corpus it is asked against.

- `gold`: eval/gold.jsonl over the shipped corpus, split once into a tune and a test half;
- `covidqa`: the COVID-QA development split (47 full-text articles, 968 expert questions with
  exact answer spans), one plain-text document per article, as a user would drop them in;
- `pubmedqa`: PubMedQA-L, 1,000 abstracts, each question asked against all of them.

A suite says which passages are relevant to an item (`hit`), whether an answer cites the
evidence (`cited`) and whether it answers (`answered`), by the definitions in each dataset's
README under ../shared/benchmarks/, so figures compare with those measured elsewhere.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.documents import Answer, Citation, Passage, Span
from rag.errors import ConfigurationError, DocumentError
from rag.evaluation.metrics import GoldItem, answer_correct, citation_supported
from rag.evaluation.pubmedqa import load_dataset, write_corpus
from rag.evaluation.runner import load_gold
from rag.text import split_sentences

SUITES = (
    "gold",
    "clinical",
    "covidqa",
    "pubmedqa",
    "realdocs",
    "followups",
    "covidqa-followups",
    "clinical-followups",
    "realdocs-extra",
)
# The follow-up suites by the "suite" field of their conversations in eval/followups.jsonl.
FOLLOWUP_SUITES = {"gold": "followups", "covidqa": "covidqa-followups", "clinical": "clinical-followups"}
FOLLOWUPS_FILE = "followups.jsonl"
# Questions in lay words, as a patient or a general practitioner would ask them (eval/README.md).
CLINICAL_FILE = "clinical.jsonl"
COVIDQA_FILE = Path("covidqa") / "covidqa_dev.json"
PUBMEDQA_FILE = Path("pubmedqa") / "ori_pqal.json"
REALDOCS_DIR = Path("realdocs")
# More questions over the realdocs files, written blind to the answer rules (eval/README.md).
REALDOCS_EXTRA_FILE = "realdocs_extra.jsonl"
GOLD_PREFIX_CHARS = 120
TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
ANSWERED_TOKEN_SHARE = 0.6
SHORT_ANSWER_CHARS = 300
SHORT_ANSWER_FACTOR = 1.5


@dataclass(frozen=True)
class SuiteItem:
    id: str
    question: str
    split: str
    """gold: tune or test; covidqa: dev; pubmedqa: test (the official split) or other."""
    group: str
    """What folds keep together: the article (covidqa), the document (gold, pubmedqa)."""
    answerable: bool
    doc_ids: tuple[str, ...] = ()
    gold_answer: str | None = None
    """covidqa: the expert's answer span; pubmedqa: the abstract's conclusion (reference only)."""
    gold: GoldItem | None = field(default=None, repr=False)
    evidence: tuple[str, ...] = ()
    """Text that answers it: gold's evidence strings; covidqa: the sentences holding the span."""
    history: tuple[str, ...] = ()
    """Earlier questions of the conversation it is asked in (follow-up suites)."""


@dataclass(frozen=True)
class Suite:
    name: str
    items: list[SuiteItem]
    write_corpus: Callable[[Path], object] | None
    """Writes the suite's documents into a folder; None: the suite uses the configured corpus."""
    hit: Callable[[SuiteItem, Passage], bool]
    cited: Callable[[SuiteItem, Answer], bool | None]
    answered: Callable[[SuiteItem, Answer], bool | None]
    refusals_expected: bool = False
    """Real files hold records the loaders rightly refuse (a PubMed record without an abstract)."""
    holds: Callable[[SuiteItem, Answer], bool | None] | None = None
    """Whether an answer's text holds the gold answer, whatever its length (what the support
    model learns); None: the same as `answered`."""
    corpus: str | None = None
    """The corpus (and index) it shares with another suite; None: its own, by its name."""


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).strip()


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def covidqa_answered(gold: str, answer: str) -> bool:
    """COVID-QA's `answered`: at least 60% of the gold answer's tokens in the answer, and the
    answer short (at most max(300, 1.5 x the gold answer's length) characters)."""
    limit = max(SHORT_ANSWER_CHARS, SHORT_ANSWER_FACTOR * len(gold))
    return len(answer) <= limit and covidqa_holds(gold, answer)


def covidqa_holds(gold: str, answer: str) -> bool:
    """At least 60% of the gold answer's tokens in the answer (`answered` without its length limit)."""
    wanted = set(tokens(gold))
    return bool(wanted) and len(wanted & set(tokens(answer))) / len(wanted) >= ANSWERED_TOKEN_SHARE


def contains_gold(gold: str, text: str) -> bool:
    return collapse(gold)[:GOLD_PREFIX_CHARS] in collapse(text)


def gold_suite(path: Path, name: str = "gold") -> Suite:
    items = [
        SuiteItem(
            g.id,
            g.question,
            g.split,
            ",".join(g.doc_ids) or g.id,
            g.answerable,
            tuple(g.doc_ids),
            g.answer,
            g,
            tuple(g.evidence),
        )
        for g in load_gold(path)
    ]

    def cited(item: SuiteItem, answer: Answer) -> bool | None:
        if item.gold is None or not item.answerable or answer.abstained:
            return None
        return citation_supported(item.gold.evidence, [c.quote for c in answer.citations])

    def answered(item: SuiteItem, answer: Answer) -> bool | None:
        if item.gold is None or not item.answerable:
            return None
        return not answer.abstained and answer_correct(item.gold.facts, answer.answer)

    return Suite(name, items, None, lambda item, p: p.doc_id in item.doc_ids, cited, answered)


def covidqa_doc_id(document_id: int | str) -> str:
    return f"covidqa-{document_id}"


def covidqa_suite(data_dir: Path) -> Suite:
    path = data_dir / COVIDQA_FILE
    articles = _read_json(path, "COVID-QA", "covidqa_dev.json")["data"]
    items: list[SuiteItem] = []
    texts: dict[str, str] = {}
    for article in articles:
        for paragraph in article["paragraphs"]:
            doc_id = covidqa_doc_id(paragraph["document_id"])
            texts[doc_id] = paragraph["context"]
            spans = split_sentences(paragraph["context"])
            for qa in paragraph["qas"]:
                gold = qa["answers"][0]["text"]
                region = _region(paragraph["context"], spans, qa["answers"][0]["answer_start"], len(gold))
                items.append(
                    SuiteItem(
                        str(qa["id"]),
                        qa["question"].strip(),
                        "dev",
                        doc_id,
                        True,
                        (doc_id,),
                        gold,
                        evidence=(region,),
                    )
                )

    def write(directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for doc_id, text in texts.items():
            (directory / f"{doc_id}.txt").write_text(text, encoding="utf-8")

    def cited(item: SuiteItem, answer: Answer) -> bool | None:
        if answer.abstained:
            return False
        return any(contains_gold(item.gold_answer or "", c.passage.text) for c in answer.citations)

    def answered(item: SuiteItem, answer: Answer) -> bool | None:
        return not answer.abstained and covidqa_answered(item.gold_answer or "", answer.answer)

    def holds(item: SuiteItem, answer: Answer) -> bool | None:
        return not answer.abstained and covidqa_holds(item.gold_answer or "", answer.answer)

    return Suite(
        "covidqa",
        items,
        write,
        lambda item, p: contains_gold(item.gold_answer or "", p.text),
        cited,
        answered,
        holds=holds,
    )


def pubmedqa_suite(data_dir: Path) -> Suite:
    dataset = load_dataset(data_dir / PUBMEDQA_FILE)
    test = set(dataset.test_ids)
    items = [
        SuiteItem(
            r.pmid,
            r.question,
            "test" if r.pmid in test else "other",
            r.doc_id,
            True,
            (r.doc_id,),
            r.long_answer,
        )
        for r in dataset.records.values()
    ]

    def cited(item: SuiteItem, answer: Answer) -> bool | None:
        return not answer.abstained and any(c.passage.doc_id in item.doc_ids for c in answer.citations)

    return Suite(
        "pubmedqa",
        items,
        lambda directory: write_corpus(list(dataset.records.values()), directory),
        lambda item, p: p.doc_id in item.doc_ids,
        cited,
        lambda item, answer: None,  # a yes/no/maybe decision with a long conclusion: no short span
    )


def followup_suite(path: Path, which: str, base: Suite) -> Suite:
    """Conversations whose last question is a follow-up (eval/followups.jsonl), over the corpus
    of `base` (the shipped corpus, or COVID-QA's). `which`: the conversations' "suite" field
    (gold, clinical: lay conversations over the shipped corpus, split into tune and test; covidqa).
    A follow-up is answered when the answer holds every fact (gold, clinical) or at least 60% of
    the gold answer's tokens (covidqa; answer length is the covidqa suite's measure, not this
    one's)."""
    if not path.is_file():
        raise ConfigurationError(
            f"follow-up set not found: {path}", "it lives beside the gold set, eval/followups.jsonl"
        )
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        data = json.loads(line)
        if data["suite"] != which:
            continue
        questions = [t["question"] for t in data["turns"]]
        gold_item = None
        if which != "covidqa":
            gold_item = GoldItem(
                data["id"], questions[-1], "factual", None, data["facts"], data["doc_ids"], []
            )
        items.append(
            SuiteItem(
                data["id"],
                questions[-1],
                data.get("split", data["kind"]),
                data["doc_ids"][0],
                True,
                tuple(data["doc_ids"]),
                data.get("answer"),
                gold_item,
                history=tuple(questions[:-1]),
            )
        )

    def answered(item: SuiteItem, answer: Answer) -> bool | None:
        if answer.abstained:
            return False
        if item.gold is not None:
            return answer_correct(item.gold.facts, answer.answer)
        wanted = set(tokens(item.gold_answer or ""))
        return bool(wanted) and len(wanted & set(tokens(answer.answer))) / len(wanted) >= ANSWERED_TOKEN_SHARE

    def cited(item: SuiteItem, answer: Answer) -> bool | None:
        return not answer.abstained and any(c.passage.doc_id in item.doc_ids for c in answer.citations)

    return Suite(
        FOLLOWUP_SUITES[which],
        items,
        base.write_corpus,
        lambda item, p: p.doc_id in item.doc_ids,
        cited,
        answered,
    )


def realdocs_suite(data_dir: Path, questions: Path | None = None) -> Suite:
    """Real PDFs, web pages and PubMed files (../shared/benchmarks/realdocs) with checked
    questions (its qa.jsonl, or `questions`: the realdocs-extra suite): answered when the answer
    holds an accepted answer and, for a PDF, a citation quotes from the page the answer is
    printed on."""
    folder = data_dir / REALDOCS_DIR
    qa_path = questions or folder / "qa.jsonl"
    name = "realdocs" if questions is None else "realdocs-extra"
    if not qa_path.is_file():
        raise DocumentError(f"{name}: {qa_path} not found", "place the benchmarks beside the repository")
    rows = [json.loads(line) for line in qa_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [
        SuiteItem(
            f"{name}-{n}",
            row["question"],
            row.get("split", "dev"),
            row["file"],
            True,
            gold_answer=row["answers"][0],
        )
        for n, row in enumerate(rows, start=1)
    ]
    # Accepted answers (case and spacing ignored) and the page, by question id.
    expected = {
        item.id: ([collapse(answer) for answer in row["answers"]], row.get("page"))
        for item, row in zip(items, rows, strict=True)
    }

    def holds(item: SuiteItem, text: str) -> bool:
        return any(answer in collapse(text) for answer in expected[item.id][0])

    def on_page(item: SuiteItem, citation: Citation) -> bool:
        page = expected[item.id][1]
        first, last = citation.passage.pages(citation.quote_start, citation.quote_end)
        return page is None or (first is not None and last is not None and first <= page <= last)

    def write(directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for source in sorted(folder.iterdir()):
            if source.suffix.lower() in {".pdf", ".html", ".xml", ".nbib"}:
                target = directory / source.name
                if not target.exists() or target.stat().st_size != source.stat().st_size:
                    shutil.copyfile(source, target)

    def cited(item: SuiteItem, answer: Answer) -> bool | None:
        return not answer.abstained and any(
            holds(item, c.quote) and on_page(item, c) for c in answer.citations
        )

    def answered(item: SuiteItem, answer: Answer) -> bool | None:
        return bool(cited(item, answer)) and holds(item, answer.answer)

    return Suite(
        name, items, write, lambda item, p: holds(item, p.text), cited, answered, True, corpus="realdocs"
    )


def load_suite(name: str, *, gold: Path, data_dir: Path) -> Suite:
    """A suite by name; the clinical and follow-up suites read eval/clinical.jsonl and
    eval/followups.jsonl beside the gold set."""
    if name == "followups":
        return followup_suite(gold.with_name(FOLLOWUPS_FILE), "gold", gold_suite(gold))
    if name == "covidqa-followups":
        return followup_suite(gold.with_name(FOLLOWUPS_FILE), "covidqa", covidqa_suite(data_dir))
    if name == "clinical-followups":
        return followup_suite(gold.with_name(FOLLOWUPS_FILE), "clinical", gold_suite(gold))
    if name == "gold":
        return gold_suite(gold)
    if name == "clinical":
        return gold_suite(gold.with_name(CLINICAL_FILE), "clinical")
    if name == "covidqa":
        return covidqa_suite(data_dir)
    if name == "pubmedqa":
        return pubmedqa_suite(data_dir)
    if name == "realdocs":
        return realdocs_suite(data_dir)
    if name == "realdocs-extra":
        return realdocs_suite(data_dir, gold.with_name(REALDOCS_EXTRA_FILE))
    raise ConfigurationError(f"unknown suite {name!r}", f"choose one of {', '.join(SUITES)} or all")


def _read_json(path: Path, what: str, expected: str) -> dict[str, Sequence[dict]]:  # type: ignore[type-arg]
    if not path.is_file():
        raise ConfigurationError(
            f"{what} data not found: {path}",
            f"pass --data with the folder that holds {path.parent.name}/{expected} (../shared/benchmarks)",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or "data" not in data:
        raise ConfigurationError(f"{path} is not in SQuAD format (no 'data' list)")
    return data


def _region(text: str, spans: Sequence[Span], start: int, length: int) -> str:
    """The sentences of `text` that hold text[start:start + length]."""
    end = start + max(1, length)
    inside = [s for s in spans if s.start < end and s.end > start]
    if not inside:
        return text[start:end]
    return text[inside[0].start : inside[-1].end]
