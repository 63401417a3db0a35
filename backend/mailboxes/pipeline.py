"""Preparing fetched messages (parsing, storing) in other processes while the poller goes on.

Parsing and storing are CPU and disk work independent from one message to the next, while
fetching and logging must stay in order in the poller. With a backlog, worker processes
prepare batch k+1 while the poller logs batch k and fetches batch k+2.
"""

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from multiprocessing.context import BaseContext

from backend.linux import die_with_parent
from backend.mail.incoming import IncomingMessage, RawIncoming, prepare_incoming
from backend.mail.parser import ParsedMessage
from backend.storage.filestore import FileStore

# Below this many messages, starting processes costs more than it saves.
PARALLEL_MIN_MESSAGES = 400


@dataclass(frozen=True)
class PreparedBatch:
    """A batch being prepared, in one or several pieces."""

    pieces: Sequence[Future[list[IncomingMessage]]]

    def result(self) -> list[IncomingMessage]:
        """The prepared messages, in the order they were submitted; waits for them."""
        return [message for piece in self.pieces for message in piece.result()]


Preparer = Callable[[Sequence[RawIncoming]], PreparedBatch]


@contextmanager
def preparer(
    *,
    file_store: FileStore,
    message_count: int,
    processes: int,
    parse: Callable[[bytes], ParsedMessage],
) -> Iterator[Preparer]:
    """A function that starts preparing a batch and returns at once (inline when small).

    processes is the setting: 0 for one per CPU, 1 for none beside the caller.
    """
    processes = processes or os.cpu_count() or 1
    if processes < 2 or message_count < PARALLEL_MIN_MESSAGES:
        yield lambda messages: _prepared_inline(messages, file_store=file_store, parse=parse)
        return
    context = _process_context()
    # A forked worker must not outlive the poller: it holds copies of the poller's sockets.
    parent_pid = os.getpid() if context.get_start_method() == "fork" else None
    with ProcessPoolExecutor(
        max_workers=processes,
        mp_context=context,
        initializer=partial(die_with_parent, parent_pid=parent_pid),
    ) as pool:

        def submit(messages: Sequence[RawIncoming]) -> PreparedBatch:
            size = max(1, -(-len(messages) // processes))  # one piece per process
            return PreparedBatch(
                [
                    pool.submit(
                        prepare_incoming,
                        messages[start : start + size],
                        file_store=file_store,
                        parse=parse,
                    )
                    for start in range(0, len(messages), size)
                ]
            )

        yield submit


def _process_context() -> BaseContext:
    """fork when the poller runs a single thread: it starts in milliseconds.

    With other threads about, a forked child could inherit a lock one of them held; a fork
    server, started once and holding only the parser, is then the safe choice.
    """
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["backend.mail.incoming"])
    return context


def _prepared_inline(
    messages: Sequence[RawIncoming],
    *,
    file_store: FileStore,
    parse: Callable[[bytes], ParsedMessage],
) -> PreparedBatch:
    done: Future[list[IncomingMessage]] = Future()
    try:
        done.set_result(prepare_incoming(messages, file_store=file_store, parse=parse))
    except Exception as error:  # noqa: BLE001 - raised again by result(), as from a process
        done.set_exception(error)
    return PreparedBatch([done])
