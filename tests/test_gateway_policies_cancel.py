"""CancellationToken: flag, wait, raise, callbacks and their unregistration."""

from __future__ import annotations

import threading
from typing import List

import pytest

from omnillm.errors import CancelledError, OmniLLMError
from omnillm.gateway import CancellationToken


def test_cancel_sets_the_flag_once() -> None:
    token = CancellationToken()
    assert not token.cancelled
    token.raise_if_cancelled()
    assert token.cancel("user pressed stop")
    assert token.cancelled
    assert not token.cancel("again")
    assert token.reason == "user pressed stop"
    with pytest.raises(CancelledError, match="user pressed stop") as info:
        token.raise_if_cancelled()
    assert isinstance(info.value, OmniLLMError)


def test_wait_returns_false_on_timeout_and_true_once_cancelled() -> None:
    token = CancellationToken()
    assert token.wait(0) is False
    started = threading.Event()

    def cancel_later() -> None:
        started.wait()
        token.cancel()

    thread = threading.Thread(target=cancel_later)
    thread.start()
    started.set()
    assert token.wait() is True  # no timeout: returns when the other thread cancels
    thread.join()


def test_callbacks_run_once_in_registration_order() -> None:
    token = CancellationToken()
    calls: List[str] = []
    token.on_cancel(lambda: calls.append("a"))
    token.on_cancel(lambda: calls.append("b"))
    token.cancel()
    token.cancel()
    assert calls == ["a", "b"]


def test_unregistered_callbacks_do_not_run() -> None:
    token = CancellationToken()
    calls: List[str] = []
    handle = token.on_cancel(lambda: calls.append("closed connection"))
    assert handle.unregister()
    assert not handle.unregister()
    shorthand = token.on_cancel(lambda: calls.append("other"))
    assert shorthand()  # calling the handle unregisters too
    token.cancel()
    assert calls == []


def test_a_callback_registered_after_cancellation_runs_at_once() -> None:
    token = CancellationToken()
    token.cancel()
    calls: List[str] = []
    handle = token.on_cancel(lambda: calls.append("now"))
    assert calls == ["now"]
    assert not handle.unregister()


def test_every_callback_runs_even_if_one_raises() -> None:
    token = CancellationToken()
    calls: List[str] = []

    def broken() -> None:
        raise RuntimeError("socket already closed")

    token.on_cancel(broken)
    token.on_cancel(lambda: calls.append("second"))
    with pytest.raises(RuntimeError, match="socket already closed"):
        token.cancel()
    assert calls == ["second"]
    assert token.cancelled


def test_callbacks_may_use_the_token() -> None:
    token = CancellationToken()
    seen: List[bool] = []
    token.on_cancel(lambda: seen.append(token.cancelled))
    token.on_cancel(lambda: token.on_cancel(lambda: seen.append(True)))
    token.cancel()
    assert seen == [True, True]


def test_concurrent_cancel_runs_callbacks_exactly_once() -> None:
    token = CancellationToken()
    calls: List[int] = []
    lock = threading.Lock()

    def record() -> None:
        with lock:
            calls.append(1)

    for _ in range(10):
        token.on_cancel(record)
    barrier = threading.Barrier(8)

    def cancel() -> None:
        barrier.wait()
        token.cancel()

    threads = [threading.Thread(target=cancel) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 10
    assert "cancelled=True" in repr(token)
