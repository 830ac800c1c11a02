"""Times said from the asker's side, left out of a question as read: "My father starts
sorafenib next week. What side effects should we watch for?" is read without "next week".
Such a time is no time a paper reports, and its word ("week") found a pilot study by its own
"weeks" instead of the papers on side effects. A time of the treatment ("in his first week on
sorafenib") is the papers' kind and stays. The phrases are data (data/asker_time.json)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from rag.text import alternation

ASKER_TIME_FILE = Path(__file__).with_name("data") / "asker_time.json"


@cache
def _asker_time() -> re.Pattern[str]:
    data = json.loads(ASKER_TIME_FILE.read_text(encoding="utf-8"))
    openers, phrases = alternation(data["openers"]), alternation(data["phrases"])
    # With the white space before it, so that "sorafenib next week." reads "sorafenib.".
    return re.compile(rf"\s*(?<![\w-])(?:(?:{openers})\s+)?(?:{phrases})(?![\w-])", re.I)


def without_asker_time(question: str) -> str:
    """`question` without the times said from the asker's side; as it is when it has none, or
    when nothing else would be left."""
    read = re.sub(r"^[\s,;:]+", "", _asker_time().sub("", question)).strip()
    if read == question.strip() or not any(c.isalnum() for c in read):
        return question
    return read[:1].upper() + read[1:] if question.lstrip()[:1].isupper() else read
