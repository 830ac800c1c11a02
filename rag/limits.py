"""Bounds on what one request may ask for; the HTTP API and the command line share them."""

from __future__ import annotations

MAX_QUESTION_CHARS = 2000
MAX_ASK_TOP_K = 20  # passages an answer is made from
MAX_SEARCH_TOP_K = 50  # passages a search lists
MAX_HISTORY_TURNS = 20  # earlier turns a follow-up is read against
