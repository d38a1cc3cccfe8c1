"""`Headers` behaves like a case-insensitive list of pairs, whatever the order of reads and writes."""

from __future__ import annotations

from typing import List, Optional, Tuple

from hypothesis import given
from hypothesis import strategies as st

from omnillm.http import Headers

NAMES = st.sampled_from(["Content-Type", "content-type", "X-Request-Id", "x-request-id", "Accept", "ACCEPT", "a"])
VALUES = st.sampled_from(["1", "2", "text/plain", ""])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), NAMES, VALUES),
        st.tuples(st.just("add"), NAMES, VALUES),
        st.tuples(st.just("del"), NAMES, VALUES),
        st.tuples(st.just("setdefault"), NAMES, VALUES),
        st.tuples(st.just("get"), NAMES, VALUES),
        st.tuples(st.just("copy"), NAMES, VALUES),
    ),
    max_size=30,
)


class _Reference:
    """The plain semantics: a list of pairs scanned on every read."""

    def __init__(self, items: List[Tuple[str, str]]) -> None:
        self.items = list(items)

    def get(self, name: str) -> Optional[str]:
        return next((v for k, v in self.items if k.lower() == name.lower()), None)

    def set(self, name: str, value: str) -> None:
        self.delete(name)
        self.items.append((name, value))

    def delete(self, name: str) -> None:
        self.items = [(k, v) for k, v in self.items if k.lower() != name.lower()]


@given(st.lists(st.tuples(NAMES, VALUES), max_size=6), OPS)
def test_headers_match_the_reference_after_any_operations(start: List[Tuple[str, str]], ops: list) -> None:
    headers = Headers(start)
    ref = _Reference(start)
    for op, name, value in ops:
        if op == "set":
            headers[name] = value
            ref.set(name, value)
        elif op == "add":
            headers.add(name, value)
            ref.items.append((name, value))
        elif op == "del":
            del headers[name]
            ref.delete(name)
        elif op == "setdefault":
            expected = ref.get(name)
            if expected is None:
                ref.items.append((name, value))
                expected = value
            assert headers.setdefault(name, value) == expected
        elif op == "get":
            assert headers.get(name) == ref.get(name)
        else:
            clone = headers.copy()
            clone["Only-In-The-Copy"] = "x"
            assert "only-in-the-copy" not in headers
            assert clone.get("ONLY-IN-THE-COPY") == "x"
        assert headers.items() == ref.items
        for probe in ("content-type", "X-REQUEST-ID", "accept", "A", "missing"):
            assert headers.get(probe) == ref.get(probe)
            assert (probe in headers) == (ref.get(probe) is not None)
            assert headers.get_all(probe) == [v for k, v in ref.items if k.lower() == probe.lower()]


def test_first_value_wins_and_spelling_is_kept() -> None:
    headers = Headers([("Set-Cookie", "a=1"), ("set-cookie", "b=2")])
    assert headers.get("SET-COOKIE") == "a=1"
    assert headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    headers["X-Custom"] = "v"
    assert headers.items()[-1] == ("X-Custom", "v")
    assert headers["x-custom"] == "v"
    assert "set-cookie" in repr(headers).lower() and "a=1" not in repr(headers)
