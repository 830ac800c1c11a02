"""An answer made in a worker thread, heard event by event on the event loop.

`answer_events` runs `Pipeline.ask` in a thread with a listener that puts each event on an
asyncio queue, and yields the events as they come: the passages, the answer's tokens or
sentences, then the final answer (or an error). When the client goes away, the consumer stops
and the listener reports `cancelled`, so a generation stops at its next token instead of
running on for nobody.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from api.errors import status_of
from rag.answer.asker import AnswerListener
from rag.documents import Answer, Passage
from rag.errors import RagError
from rag.serialize import metadata_dict, passage_dict

log = logging.getLogger("api")


@dataclass(frozen=True)
class Event:
    kind: str  # citations | token | sentence | final | error
    data: Any


class QueueListener:
    """An AnswerListener that hands every event to the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Event | None]) -> None:
        self._loop = loop
        self._queue = queue
        self.stopped = threading.Event()

    def put(self, event: Event | None) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._queue.put_nowait, event)

    def passages(self, passages: Sequence[Passage]) -> None:
        # "citations": what the answer may cite, with each document's metadata, before it is written.
        self.put(Event("citations", [{**metadata_dict(p), **passage_dict(p)} for p in passages]))

    def token(self, text: str) -> None:
        self.put(Event("token", text))

    def sentence(self, text: str) -> None:
        self.put(Event("sentence", text))

    def cancelled(self) -> bool:
        return self.stopped.is_set()


async def answer_events(ask: Callable[[AnswerListener], Answer]) -> AsyncIterator[Event]:
    """The events of `ask(listener)`, run in a worker thread, as they happen."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    listener = QueueListener(loop, queue)

    def work() -> None:
        try:
            listener.put(Event("final", ask(listener)))
        except RagError as exc:
            listener.put(Event("error", {"detail": str(exc), "status": status_of(exc)}))
        except Exception:  # a bug: the client gets an error event, the log the traceback
            log.exception("streamed answer failed")
            listener.put(Event("error", {"detail": "internal error; see the server log", "status": 500}))
        finally:
            listener.put(None)

    # The worker is not awaited: if the client leaves, it stops at its next token and ends alone.
    # In this request's context, so that what it logs carries the request id.
    loop.run_in_executor(None, contextvars.copy_context().run, work)
    try:
        while (event := await queue.get()) is not None:
            yield event
    finally:
        listener.stopped.set()  # the client left, or every event was sent
