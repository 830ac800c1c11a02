"""Bounds on what one request may ask for; the HTTP API and the command line share them."""

from __future__ import annotations

MAX_QUESTION_CHARS = 2000
MAX_ASK_TOP_K = 20  # passages an answer is made from
MAX_SEARCH_TOP_K = 50  # passages a search lists
MAX_HISTORY_TURNS = 20  # earlier turns a follow-up is read against
# Documents one citation export holds: an answer's sources (it quotes from at most MAX_ASK_TOP_K
# passages). The ids travel in the URL of GET /cite: 50 ids of a typical 60 characters make about
# 3.5 KB, within the 8 KB request line that proxies such as nginx accept by default.
MAX_CITE_DOCUMENTS = 50
