"""The Sphinx site under docs/ builds without a single warning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_docs_build_without_warnings(tmp_path: Path) -> None:
    pytest.importorskip("sphinx")
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-E", "-b", "html", "docs", str(tmp_path)],
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "index.html").exists()


def _public_modules() -> set:
    import pkgutil

    import omnillm

    found = set()
    for info in pkgutil.walk_packages(omnillm.__path__, "omnillm."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue  # private modules (and __main__, _version) are not API
        found.add(info.name)
    return found


def test_every_public_module_is_in_the_api_reference() -> None:
    text = (ROOT / "docs" / "api.rst").read_text()
    documented = {line.split("::", 1)[1].strip() for line in text.splitlines() if ".. automodule::" in line}
    missing = _public_modules() - documented
    assert not missing, f"add to docs/api.rst: {sorted(missing)}"
    assert {"omnillm.tools", "omnillm.structured", "omnillm.testing.pytest_plugin"} <= documented


def test_a_broken_automodule_fails_the_build(tmp_path: Path) -> None:
    """docs/conf.py must not silence autodoc import failures: -W has to catch them."""
    pytest.importorskip("sphinx")
    source = tmp_path / "src"
    source.mkdir()
    (source / "conf.py").write_text((ROOT / "docs" / "conf.py").read_text().replace('".."', repr(str(ROOT))))
    (source / "index.rst").write_text("Broken\n======\n\n.. automodule:: omnillm.no_such_module\n")
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-q", "-E", "-b", "html", str(source), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0 and "no_such_module" in done.stderr
