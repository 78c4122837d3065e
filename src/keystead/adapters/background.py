"""A bounded queue and one worker thread that deliver messages off the request path.

``submit`` never waits: a full queue drops the item and logs an ERROR. The worker retries a
failed delivery with a doubling delay and logs an ERROR naming the item (``describe``: never its
body, which may hold a code or link) once every attempt failed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger("keystead.delivery")
_STOP = object()


class BackgroundSender(Generic[T]):
    def __init__(
        self,
        name: str,
        deliver: Callable[[T], None],
        describe: Callable[[T], str],
        *,
        queue_size: int,
        retries: int,
        retry_delay: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._name = name
        self._deliver = deliver
        self._describe = describe
        self._retries = retries
        self._retry_delay = retry_delay
        self._sleep = sleep
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.failures = 0  # items given up on (for tests and metrics)

    def submit(self, item: T) -> bool:
        self._start()
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._failed()
            log.error("%s: the queue is full; %s dropped", self._name, self._describe(item))
            return False
        return True

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued item was delivered or given up on."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._queue.all_tasks_done.wait(remaining):
                    return False
        return True

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            log.error("%s: closing with undelivered messages", self._name)
            return
        thread.join(timeout)

    def _failed(self) -> None:
        with self._lock:
            self.failures += 1

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                self._attempt(item)  # type: ignore[arg-type]
            finally:
                self._queue.task_done()

    def _attempt(self, item: T) -> None:
        delay = self._retry_delay
        for attempt in range(self._retries + 1):
            try:
                self._deliver(item)
                return
            except Exception as exc:  # any failure of the server or the network
                if attempt == self._retries:
                    self._failed()
                    log.error(
                        "%s: could not deliver %s after %d attempts: %s",
                        self._name,
                        self._describe(item),
                        attempt + 1,
                        type(exc).__name__,
                    )
                    return
                log.warning(
                    "%s: delivery of %s failed (%s); retrying",
                    self._name,
                    self._describe(item),
                    type(exc).__name__,
                )
                self._sleep(delay)
                delay *= 2
