"""README.rst: its two fresh-clone commands, and every Python snippet run against the mock provider.

The snippets are written for real providers (keys from the environment, default base
URLs). Each one runs here as written, except for the few exact substitutions listed in
`POINT_AT_MOCK`, which add a ``base_url`` pointing at the mock server; every
substitution must match, so a README edit that breaks one fails this test instead of
silently skipping a snippet. Django is not a dependency: the Django snippet gets a
minimal ``django.http`` stand-in that records what the views return.
"""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from omnillm.testing import MockProvider, MockReply

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.rst").read_text(encoding="utf-8")


def _snippets() -> Dict[str, str]:
    """Every ``.. code-block:: python`` of the README, keyed by the title of its section."""
    found: Dict[str, str] = {}
    lines = README.splitlines()
    title = ""
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and lines[i + 1] and set(lines[i + 1]) == {"-"} and lines[i]:
            title = lines[i]
        if lines[i].strip() == ".. code-block:: python":
            i += 1
            block: List[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("    ")):
                block.append(lines[i][4:])
                i += 1
            assert title not in found, f"two Python snippets under {title!r}"
            found[title] = "\n".join(block).strip() + "\n"
            continue
        i += 1
    return found


SNIPPETS = _snippets()

#: (section, text in the snippet, replacement): point the snippet's clients at the mock.
POINT_AT_MOCK = [
    ("Quick start: a script", 'Client("anthropic")', 'Client("anthropic", base_url=MOCK + "/v1")'),
    ("Quick start: a Django view", 'label="openai", rpm=500', 'label="openai", rpm=500, base_url=MOCK + "/v1"'),
    ("Quick start: a Django view", 'label="claude", ', 'label="claude", base_url=MOCK + "/v1", '),
    ("Quick start: typed tools and structured output", 'Client("openai")', 'Client("openai", base_url=MOCK + "/v1")'),
    ("Quick start: middleware and the response cache", 'label="openai")', 'label="openai", base_url=MOCK + "/v1")'),
]


def _runnable(section: str, mock_url: str, monkeypatch: pytest.MonkeyPatch) -> Dict[str, Any]:
    """Run the snippet of ``section`` (with its substitutions) as a module; return its namespace."""
    code = SNIPPETS[section]
    for where, old, new in POINT_AT_MOCK:
        if where == section:
            assert code.count(old) == 1, f"README snippet {section!r} no longer contains {old!r}"
            code = code.replace(old, new)
    module = types.ModuleType("readme_snippet")
    module.MOCK = mock_url  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)  # dataclasses and type hints look it up
    exec(compile(code, f"README.rst: {section}", "exec"), module.__dict__)
    return module.__dict__


@pytest.fixture()
def mock(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[MockProvider]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-readme-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-readme-test")
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    with MockProvider(MockReply(text="Hello from the mock")) as server:
        yield server


def test_readme_has_exactly_the_two_fresh_clone_commands() -> None:
    section = README.split("The two commands\n", 1)[1].split("\nWhat it does\n", 1)[0]
    commands = [line.strip() for line in section.splitlines() if line.startswith("    ")]
    assert commands == [
        "python -m pip install -e . && python -m omnillm demo",
        'python -m pip install -e ".[test]" && python -m pytest',
    ]


def test_every_snippet_is_exercised() -> None:
    tested = {
        "Quick start: a script",
        "Quick start: a Django view",
        "Quick start: transcoding",
        "Quick start: typed tools and structured output",
        "Quick start: middleware and the response cache",
        "Quick start: testing your code",
    }
    assert set(SNIPPETS) == tested, "a README snippet was added or renamed: run it in this file"
    for section, _, _ in POINT_AT_MOCK:
        assert section in SNIPPETS


def test_script_quick_start(
    mock: MockProvider, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _runnable("Quick start: a script", mock.base_url, monkeypatch)
    assert capsys.readouterr().out == "Hello from the mock\n" + "Hello from the mock"
    assert [r.key for r in mock.requests] == ["sk-ant-readme-test"] * 2, "the key came from the environment"
    assert mock.requests[1].json["stream"] is True


class _Recorded:
    def __init__(self, content: Any, content_type: str = "application/json") -> None:
        self.content = content
        self.content_type = content_type


def _fake_django(monkeypatch: pytest.MonkeyPatch) -> None:
    http = types.ModuleType("django.http")
    http.JsonResponse = lambda data: _Recorded(data)  # type: ignore[attr-defined]
    http.StreamingHttpResponse = lambda body, content_type: _Recorded(body, content_type)  # type: ignore[attr-defined]
    django = types.ModuleType("django")
    django.http = http  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "django", django)
    monkeypatch.setitem(sys.modules, "django.http", http)


def test_django_quick_start(mock: MockProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_django(monkeypatch)
    ns = _runnable("Quick start: a Django view", mock.base_url, monkeypatch)
    request = types.SimpleNamespace(GET={"q": "hello"}, user=types.SimpleNamespace(pk=42))
    try:
        reply = ns["chat"](request)
        assert reply.content["text"] == "Hello from the mock" and reply.content["cost_usd"] > 0
        streamed = ns["chat_stream"](request)
        assert streamed.content_type == "text/event-stream"
        body = "".join(streamed.content)
        assert body.startswith("data: ") and "".join(re.findall(r"data: (.*)\n\n", body)) == "Hello from the mock"
        assert ns["GATEWAY"].pool_status().budget is not None
    finally:
        ns["GATEWAY"].close()
    assert len(mock.requests) == 2


def test_transcoding_quick_start(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ns = _runnable("Quick start: transcoding", "", monkeypatch)
    report = ns["report"]
    assert report.bridged and report.lossy and json.loads(report.value)["max_tokens"] == 300
    assert report.loss_reasons == ["seed: seed is not supported by anthropic_messages [L-SEED]"], "as the README says"
    assert "is lossy" in capsys.readouterr().out


def test_tools_and_structured_output_quick_start(
    mock: MockProvider, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    mock.queue(
        MockReply(tool_calls=[("get_weather", {"city": "Paris"})], text=""),
        MockReply(text="It is 18 degrees and sunny in Paris."),
        MockReply(text=json.dumps({"city": "Paris", "temperature": 18, "summary": "sunny"})),
    )
    ns = _runnable("Quick start: typed tools and structured output", mock.base_url, monkeypatch)
    assert capsys.readouterr().out.strip() == "It is 18 degrees and sunny in Paris. done"
    sent_back = json.dumps(mock.requests[1].json)
    assert "18 degrees celsius, sunny, in Paris" in sent_back, "the tool ran and its result went back"
    forecast = ns["forecast"]
    assert isinstance(forecast, ns["Forecast"]) and forecast.temperature == 18.0
    assert mock.requests[2].json["text"]["format"]["type"] == "json_schema"


def test_middleware_and_cache_quick_start(
    mock: MockProvider, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with caplog.at_level("INFO", logger="llm"):
        ns = _runnable("Quick start: middleware and the response cache", mock.base_url, monkeypatch)
    try:
        assert ns["again"].cached and not ns["first"].cached
        assert ns["again"].cost_micros == 0 and ns["again"].text == ns["first"].text
        assert len(mock.requests) == 1, "the second call never reached the provider"
        assert caplog.records and "sk-readme-test" not in caplog.text
    finally:
        ns["gateway"].close()


def test_testing_quick_start(
    mock: MockProvider, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _runnable("Quick start: testing your code", "", monkeypatch)
    assert capsys.readouterr().out.strip() == "Hello from the mock"
    recording = (tmp_path / "session.json").read_text()
    assert "Hello from the mock" in recording and '"test"' not in recording.replace('"[REDACTED]"', "")
