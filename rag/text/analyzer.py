"""One set of rules for the words of a text, shared by lexical search (BM25, query and index),
sentence scoring and the vocabulary: word tokens lower-cased with decimals kept whole, short
forms replaced by the long forms the corpus defines ("OS" -> "overall survival"), stop words
and single letters dropped, Snowball stems. Lexical search also keeps a word with the single
letter or digit after it ("hepatitis C", "grade 3")."""

from __future__ import annotations

from collections.abc import Sequence

from rag.text import STOPWORDS, WORD, stem, words
from rag.text.abbreviations import Abbreviations


class Analyzer:
    """Tokens and terms of texts; with `abbreviations`, short forms are expanded (in a passage of
    `doc_id`, by that document's own definitions first)."""

    def __init__(self, abbreviations: Abbreviations | None = None) -> None:
        self._abbreviations = abbreviations

    def tokens(self, text: str, doc_id: str | None = None) -> list[str]:
        """Lower-cased word tokens in order, short forms expanded."""
        if self._abbreviations is None:
            return words(text)
        return self._abbreviations.expand(text, doc_id)

    def terms(self, text: str, doc_id: str | None = None) -> list[str]:
        """The stemmed content terms of `text`, in order: what BM25 indexes and queries with."""
        return content_terms(self.tokens(text, doc_id))

    def term_set(self, text: str, doc_id: str | None = None) -> set[str]:
        return set(self.terms(text, doc_id))

    def search_terms(self, text: str, doc_id: str | None = None) -> list[str]:
        """What lexical search indexes and queries with: the content terms, and each variant
        a single letter or digit names (see `designated_terms`)."""
        tokens = self.tokens(text, doc_id)
        return content_terms(tokens) + designated_terms(tokens)


def content_terms(tokens: Sequence[str]) -> list[str]:
    """Stems of the tokens that are neither stop words nor single characters."""
    return stem([t for t in tokens if len(t) > 1 and t not in STOPWORDS])


# Single characters that name no variant: a pronoun, a p-value's "p", a count's "n".
NOT_DESIGNATORS = frozenset("ipn")


def designated_terms(tokens: Sequence[str]) -> list[str]:
    """A content word joined to the single letter or digit after it ("hepatitis C" ->
    "hepatc", "SARS-CoV-2" -> "cov2", "grade 3" -> "grade3"): content terms drop single
    characters, which alone would make hepatitis C read as hepatitis B to lexical search. Not
    after a stop word ("in 3 patients") nor in a run of single characters ("e.g.", "patients
    2, 3 and 5")."""
    joined = []
    for at in range(1, len(tokens)):
        previous, token = tokens[at - 1], tokens[at]
        following = tokens[at + 1] if at + 1 < len(tokens) else None
        if is_designator(token, following) and len(previous) > 1 and previous not in STOPWORDS:
            joined.append(stem([previous])[0] + token)
    return joined


def is_designator(token: str, following: str | None) -> bool:
    """Whether a (lower-cased) token names a variant of the word before it: a single letter or
    digit, not a pronoun, a p-value's "p" or a count's "n", and not one of a run of single
    characters (`following`: the next token, None at the end)."""
    return (
        len(token) == 1
        and token.isalnum()
        and token not in NOT_DESIGNATORS
        and (following is None or len(following) > 1)
    )


def vocabulary_words(text: str) -> set[str]:
    """The words of `text` the vocabulary tracks: lower-cased, not stop words, not bare numbers;
    acronyms ("RESORCE", "FLT3") also as written, since "SELECT" is not "select"."""
    found = {w for w in words(text) if len(w) > 1 and w not in STOPWORDS and not w.replace(".", "").isdigit()}
    found.update(token for token in WORD.findall(text) if is_acronym(token))
    return found


def is_acronym(token: str) -> bool:
    """Mostly capitals: "RESORCE", "FLT3", "mRCC"; not "microRNAs" or "CheckMate"."""
    upper = sum(c.isupper() for c in token)
    return upper >= 2 and upper >= sum(c.islower() for c in token)
