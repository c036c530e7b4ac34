"""SIGINT and SIGTERM during a run: the first one asks the runner to stop after the chunk in
flight (it then saves its checkpoint and raises ``Interrupted``); a second one abandons the chunk
at once (``KeyboardInterrupt``)."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


class StopRequest:
    """The signal that asked the run to stop, or None."""

    def __init__(self):
        self.signum: int | None = None

    def __call__(self, signum, frame):
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum


@contextmanager
def stop_on_signals():
    """Within the block, SIGINT/SIGTERM set the returned ``StopRequest`` (main thread only;
    elsewhere signals keep their handlers and the request never fires)."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {s: signal.signal(s, request) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
