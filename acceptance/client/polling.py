"""Poll with a deadline; a timeout says what was awaited and what was last seen."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """Raised when a polled condition is not met before its deadline."""


class PollAbort(AssertionError):
    """Raised by a check to stop polling at once: the condition can no longer come true."""


def wait_for(check: Callable[[], T], *, timeout: float, what: str, interval: float = 0.5) -> T:
    """Call `check` until it returns a truthy value (returned) or `timeout` seconds pass.

    Exceptions from `check` count as "not yet" and are reported if the deadline passes,
    except PollAbort, which ends the wait at once.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = check()
            if result:
                return result
            last = result
        except PollAbort:
            raise
        except Exception as exc:  # noqa: BLE001 - reported below
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {what} (last seen: {last!r})")
        time.sleep(interval)
