"""Cooperative cancellation of a call from another thread."""

from __future__ import annotations

import threading
from typing import Callable, Dict, List, Optional

from ..errors import CancelledError


class CancelRegistration:
    """The handle `CancellationToken.on_cancel` returns: `unregister` removes the callback.

    The handle is also callable, as a shorthand for `unregister`.
    """

    def __init__(self, token: CancellationToken, ident: int) -> None:
        self._token = token
        self._ident = ident

    def unregister(self) -> bool:
        """Remove the callback; False if it already ran or was removed."""
        return self._token._unregister(self._ident)

    def __call__(self) -> bool:
        return self.unregister()


class CancellationToken:
    """A flag one thread sets and others check, wait on, or hook callbacks to (threading based).

    `cancel` is idempotent: only the first call records the reason and runs the callbacks,
    each exactly once, on the cancelling thread (outside any lock, so a callback may close
    a connection or touch the token). A callback registered after cancellation runs at
    once, on the registering thread.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: Dict[int, Callable[[], None]] = {}
        self._next_id = 0
        self._reason: Optional[str] = None

    @property
    def cancelled(self) -> bool:
        """True once `cancel` has been called."""
        return self._event.is_set()

    @property
    def reason(self) -> Optional[str]:
        """The reason given to the first `cancel`, if any."""
        return self._reason

    def cancel(self, reason: Optional[str] = None) -> bool:
        """Cancel: set the flag, wake waiters, run callbacks; False if already cancelled.

        Every callback runs even if an earlier one raises; the first exception is then
        raised to the caller of `cancel`.
        """
        with self._lock:
            if self._event.is_set():
                return False
            self._reason = reason
            callbacks: List[Callable[[], None]] = list(self._callbacks.values())
            self._callbacks.clear()
            self._event.set()
        first: Optional[BaseException] = None
        for callback in callbacks:
            try:
                callback()
            except Exception as exc:
                if first is None:
                    first = exc
        if first is not None:
            raise first
        return True

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until cancelled or ``timeout`` seconds pass; True if cancelled."""
        return self._event.wait(timeout)

    def raise_if_cancelled(self) -> None:
        """Raise `omnillm.errors.CancelledError` if the token is cancelled."""
        if self._event.is_set():
            suffix = f": {self._reason}" if self._reason else ""
            raise CancelledError(f"the call was cancelled{suffix}")

    def on_cancel(self, callback: Callable[[], None]) -> CancelRegistration:
        """Run ``callback`` when the token is cancelled (now, if it already is)."""
        with self._lock:
            ident = self._next_id
            self._next_id += 1
            if not self._event.is_set():
                self._callbacks[ident] = callback
                return CancelRegistration(self, ident)
        callback()
        return CancelRegistration(self, ident)

    def _unregister(self, ident: int) -> bool:
        with self._lock:
            return self._callbacks.pop(ident, None) is not None

    def __repr__(self) -> str:
        return f"CancellationToken(cancelled={self.cancelled})"


__all__ = ["CancellationToken", "CancelRegistration"]
