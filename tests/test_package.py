"""Packaging promises: a light import, a vendorable tree, a flat public API, clean lint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import omnillm

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "omnillm"


def run_python(code: str, cwd: Path, env_path: str = "") -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = env_path
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=str(cwd), env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_import_loads_only_the_standard_library(tmp_path: Path) -> None:
    code = (
        "import sys, json\n"
        "before = set(sys.modules)\n"
        "import omnillm\n"
        "new = sorted(set(sys.modules) - before)\n"
        "print(json.dumps(new))\n"
    )
    new = json.loads(run_python(code, tmp_path, str(ROOT)))
    stdlib = getattr(sys, "stdlib_module_names", None)
    if stdlib is None:  # Python 3.9 has no list of stdlib names
        pytest.skip("sys.stdlib_module_names needs Python 3.10+")
    foreign = sorted({name.split(".")[0] for name in new} - set(stdlib) - {"omnillm"})
    assert foreign == [], f"import omnillm pulled in non-stdlib modules: {foreign}"
    assert not any(name.startswith(("requests", "urllib3")) for name in new)


def test_import_does_not_load_codecs_until_used(tmp_path: Path) -> None:
    code = (
        "import sys, omnillm\n"
        "print('omnillm.protocols.anthropic_messages' in sys.modules)\n"
        "omnillm.transcode_request({'model': 'm', 'messages': [{'role': 'user', 'content': 'hi'}]},"
        " 'open_ai_chat_completions', 'anthropic_messages')\n"
        "print('omnillm.protocols.anthropic_messages' in sys.modules)\n"
    )
    assert run_python(code, tmp_path, str(ROOT)).split() == ["False", "True"]


def test_vendored_copy_works_under_another_package(tmp_path: Path) -> None:
    vendor = tmp_path / "myapp" / "_vendor"
    vendor.mkdir(parents=True)
    (tmp_path / "myapp" / "__init__.py").write_text("")
    (vendor / "__init__.py").write_text("")
    shutil.copytree(PACKAGE, vendor / "omnillm", ignore=shutil.ignore_patterns("__pycache__"))
    code = (
        "import sys, json\n"
        "from myapp._vendor import omnillm\n"
        "raw = {'model': 'gpt-4o', 'messages': [{'role': 'system', 'content': 'Be brief.'},"
        " {'role': 'user', 'content': 'Hi'}], 'max_completion_tokens': 50}\n"
        "report = omnillm.transcode_request_report(raw, 'open_ai_chat_completions', 'anthropic_messages')\n"
        "out = json.loads(report.value)\n"
        "assert out['system'] == 'Be brief.', out\n"
        "assert out['max_tokens'] == 50, out\n"
        "assert report.bridged\n"
        "assert 'omnillm' not in sys.modules, 'the vendored copy imported a top-level omnillm'\n"
        "print(omnillm.__name__)\n"
    )
    # PYTHONPATH holds only the vendoring app: a stray absolute import would fail here.
    assert run_python(code, tmp_path, str(tmp_path)).strip() == "myapp._vendor.omnillm"


def test_no_absolute_self_imports_in_the_package() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith(("import omnillm", "from omnillm")):
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert offenders == []


def test_public_api_is_listed_and_documented() -> None:
    for name in omnillm.__all__:
        assert hasattr(omnillm, name), name
        obj = getattr(omnillm, name)
        if callable(obj) and type(obj).__module__ != "typing":  # Union aliases carry no docstring
            assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_py_typed_marker_is_shipped() -> None:
    assert (PACKAGE / "py.typed").exists()
    assert "py.typed" in (ROOT / "setup.cfg").read_text()


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff not installed")
def test_ruff_is_clean() -> None:
    done = subprocess.run(["ruff", "check", "omnillm", "tests", "bench"], cwd=str(ROOT), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("mypy") is None, reason="mypy not installed")
def test_mypy_strict_is_clean() -> None:
    done = subprocess.run(["mypy"], cwd=str(ROOT), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
