"""A time said from the asker's side is left out of the question as read (rag/answer/asker_time.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rag.answer.asker_time import without_asker_time

NARRATED = "My father has liver cancer and starts sorafenib next week. What side effects should we watch for?"


def test_the_askers_times_are_left_out_and_the_papers_kind_stays() -> None:
    assert without_asker_time(NARRATED) == (
        "My father has liver cancer and starts sorafenib. What side effects should we watch for?"
    )
    assert without_asker_time("He has been on sorafenib since last month, is the rash normal?") == (
        "He has been on sorafenib, is the rash normal?"
    )
    assert without_asker_time("Today, what dose is given?") == "What dose is given?"
    # A time of the treatment is what papers report; a word only beginning like one stays.
    for kept in (
        "My husband got a fever in his first week on sorafenib. Is that a bad sign?",
        "How many patients were alive after a year?",
        "Was the next-week visit kept?",
        "Yesterday?",  # nothing else would be left
    ):
        assert without_asker_time(kept) == kept


@pytest.mark.integration
def test_a_narrated_question_is_answered_as_the_bare_one(client: TestClient) -> None:
    """Before, "next week" found a pilot study by its "weeks": "Toxicity was generally tolerable"."""
    narrated = client.post("/ask", json={"question": NARRATED}).json()
    assert narrated["resolved_question"] == (
        "My father has hepatocellular carcinoma and starts sorafenib. "
        "What adverse events should we watch for?"
    )
    assert not narrated["abstained"] and "generally tolerable" not in narrated["answer"]
    bare = client.post("/ask", json={"question": without_asker_time(NARRATED)}).json()
    assert narrated["answer"] == bare["answer"]
