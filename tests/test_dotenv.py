"""The .env reader: syntax, precedence over the real environment, errors that hide values."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnillm.errors import ConfigurationError
from omnillm.providers import load_dotenv, parse_dotenv

ROOT = Path(__file__).resolve().parents[1]


def test_plain_lines_comments_and_export() -> None:
    text = (
        "# a comment\n"
        "\n"
        "OPENAI_API_KEY=sk-1\n"
        "  export GROQ_API_KEY = gsk-2  \n"
        "EMPTY=\n"
        "URL=https://x.test/a#frag # trailing comment\n"
        "HASH=abc#def\n"
    )
    assert parse_dotenv(text) == {
        "OPENAI_API_KEY": "sk-1",
        "GROQ_API_KEY": "gsk-2",
        "EMPTY": "",
        "URL": "https://x.test/a#frag",
        "HASH": "abc#def",
    }


def test_quotes() -> None:
    text = (
        "SINGLE='literal \\n $HOME # not a comment'\n"
        'DOUBLE="line1\\nline2\\t\\"q\\" \\\\ end" # comment\n'
        'MULTI="first\n'
        'second"\n'
        "AFTER=ok\n"
    )
    assert parse_dotenv(text) == {
        "SINGLE": "literal \\n $HOME # not a comment",
        "DOUBLE": 'line1\nline2\t"q" \\ end',
        "MULTI": "first\nsecond",
        "AFTER": "ok",
    }


def test_crlf_bom_and_repeated_keys() -> None:
    assert parse_dotenv("\ufeffA=1\r\nB=2\r\nA=3\r\n") == {"A": "3", "B": "2"}


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("A=1\nthis line has sk-secret-in-it\n", 2, "expected KEY=VALUE"),
        ("A=1\n\nB='sk-secret-unterminated\n", 3, "unterminated single-quoted value"),
        ('A="sk-secret\nstill open\n', 1, "unterminated double-quoted value"),
        ("1BAD=sk-secret\n", 1, "expected KEY=VALUE"),
        ("A='sk-secret' junk\n", 1, "unexpected text after the closing quote"),
        ('A="sk-secret" junk\n', 1, "unexpected text after the closing quote"),
    ],
)
def test_errors_name_the_line_but_never_the_value(text: str, line: int, problem: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_dotenv(text, "cfg/.env")
    assert str(caught.value) == f"cfg/.env:{line}: {problem}"
    assert "sk-secret" not in str(caught.value)


def test_line_numbers_count_multiline_values() -> None:
    with pytest.raises(ConfigurationError, match=r"^<string>:4: expected KEY=VALUE$"):
        parse_dotenv('A="one\ntwo\nthree"\noops\n')


_keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
_values = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=30)


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


@given(st.dictionaries(_keys, _values, max_size=8))
def test_double_quoted_values_round_trip(values: Dict[str, str]) -> None:
    text = "".join(f"{k}={_quote(v)}\n" for k, v in values.items())
    assert parse_dotenv(text) == values


def test_load_never_overrides_real_environment_unless_asked(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("OPENAI_API_KEY=from-file\nGROQ_API_KEY=groq-file\n", encoding="utf-8")
    environ = {"OPENAI_API_KEY": "from-shell"}
    loaded = load_dotenv(env_file, environ=environ)
    assert loaded == {"OPENAI_API_KEY": "from-file", "GROQ_API_KEY": "groq-file"}
    assert environ == {"OPENAI_API_KEY": "from-shell", "GROQ_API_KEY": "groq-file"}
    load_dotenv(env_file, environ=environ, override=True)
    assert environ["OPENAI_API_KEY"] == "from-file"


def test_load_defaults_to_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("OMNILLM_TEST_DOTENV_VAR=yes\n", encoding="utf-8")
    monkeypatch.delenv("OMNILLM_TEST_DOTENV_VAR", raising=False)
    load_dotenv(str(env_file))
    assert os.environ["OMNILLM_TEST_DOTENV_VAR"] == "yes"
    monkeypatch.delenv("OMNILLM_TEST_DOTENV_VAR")


def test_missing_file(tmp_path: Path) -> None:
    assert load_dotenv(tmp_path / "absent.env", environ={}) == {}
    with pytest.raises(ConfigurationError, match=r"no such \.env file"):
        load_dotenv(tmp_path / "absent.env", missing_ok=False, environ={})


def test_unreadable_file_is_a_configuration_error(tmp_path: Path) -> None:
    bad = tmp_path / ".env"
    bad.write_bytes(b"A=\xff\xfe\n")
    with pytest.raises(ConfigurationError, match=r"cannot read \(UnicodeDecodeError\)"):
        load_dotenv(bad, environ={})


def test_env_example_parses() -> None:
    example = ROOT / ".env.example"
    if not example.exists():
        pytest.skip(".env.example not present")
    values = parse_dotenv(example.read_text(encoding="utf-8"), str(example))
    assert values == {}  # every variable is commented out: copying it sets nothing by accident
