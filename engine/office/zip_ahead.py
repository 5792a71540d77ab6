"""A zip member's bytes inflated by a second thread, a few chunks ahead of their reader.

Why: inflating is about a third of reading a big sheet, and zlib lets go of Python's lock
while it works; on two cores it runs while the reading thread parses the chunk before. The
chunks come from sheet_scan.iter_member: never past the size the zip declares. At most
`depth` chunks wait (bounded memory); errors reach the reader; a reader that stops early
stops the thread.
"""

from __future__ import annotations

import queue
import threading
import zipfile
from collections.abc import Iterable, Iterator

from engine.office.sheet_scan import CHUNK, iter_member


def inflate_ahead(zf: zipfile.ZipFile, info: zipfile.ZipInfo, chunk: int = CHUNK, depth: int = 2) -> Iterator[bytes]:
    """The chunks of member `info`, inflated ahead by a second thread."""
    return ahead(iter_member(zf, info, chunk=chunk), depth)


def ahead(blocks: Iterable[bytes], depth: int = 2) -> Iterator[bytes]:
    """The items of `blocks`, taken by a second thread up to `depth` items ahead."""
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def hand(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for block in blocks:
                if not hand(block):
                    return
        except BaseException as exc:  # handed to the reading thread, raised there
            hand(exc)
            return
        hand(done)

    worker = threading.Thread(target=work, name="zip-inflate", daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
