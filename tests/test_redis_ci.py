"""CI cannot pass without the Redis tests: `require_redis` under OMNILLM_REQUIRE_REDIS, and ``.ci/run``'s install step.

``.ci/run`` runs here against a PATH of stand-ins (``apt-get``, ``sudo``, ``id``,
``redis-server``, ``python``) that log how they were called, so every branch of the
install step is exercised without touching the machine's packages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
from redis_server import REQUIRE_ENV, require_redis

REPO = Path(__file__).resolve().parent.parent
BASH = shutil.which("bash")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the CI script is bash")


# --------------------------------------------------------------------------- require_redis


def test_a_missing_binary_skips_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="redis-server is not installed"):
        require_redis(str(tmp_path / "no-such-redis-server"))


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_a_missing_binary_fails_when_redis_is_required(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    monkeypatch.setenv(REQUIRE_ENV, value)
    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE_ENV}=1 says the Redis tests must run"):
        require_redis(str(tmp_path / "no-such-redis-server"))


def test_a_file_that_is_not_executable_is_not_a_binary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(REQUIRE_ENV, "1")
    fake = tmp_path / "redis-server"
    fake.write_text("not a program\n")
    fake.chmod(0o644)
    with pytest.raises(pytest.fail.Exception):
        require_redis(str(fake))


def test_the_variable_set_to_zero_still_skips(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(REQUIRE_ENV, "0")
    with pytest.raises(pytest.skip.Exception):
        require_redis(str(tmp_path / "no-such-redis-server"))


def test_an_installed_server_and_client_pass_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("redis-server") is None and os.environ.get(REQUIRE_ENV) != "1":
        pytest.skip("redis-server is not installed")
    monkeypatch.setenv(REQUIRE_ENV, "1")
    require_redis()  # neither skips nor fails


# --------------------------------------------------------------------------- .ci/run


def _tool(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def _ci(
    tmp_path: Path,
    *,
    uid: int = 0,
    sudo: bool = False,
    apt: Optional[str] = "ok",
    installed: bool = False,
) -> Tuple[subprocess.CompletedProcess[str], List[str]]:
    """Run a copy of .ci/run with stand-in tools: its result and the tools' log.

    ``apt`` is ``ok``, ``update-fails``, ``install-fails`` or None (no apt-get).
    """
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy(REPO / ".ci" / "run", repo / ".ci" / "run")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "log"
    for name in ("dirname", "env"):
        real = shutil.which(name)
        assert real is not None
        os.symlink(real, bin_dir / name)
    _tool(bin_dir / "id", f"echo {uid}\n")
    server = 'echo "Redis server v=7.0.0"\n'
    if installed:
        _tool(bin_dir / "redis-server", server)
    if sudo:
        _tool(bin_dir / "sudo", f'echo "sudo $*" >> {log}\n[ "$1" = -n ] && shift\nexec "$@"\n')
    if apt is not None:
        update = "exit 100" if apt == "update-fails" else "exit 0"
        install = (
            "exit 100"
            if apt == "install-fails"
            else f"printf '#!/bin/sh\\necho \"Redis server v=7.0.0\"\\n' > {bin_dir}/redis-server; "
            f"{shutil.which('chmod')} 755 {bin_dir}/redis-server"
        )
        _tool(
            bin_dir / "apt-get",
            f'echo "apt-get $* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> {log}\n'
            f'case "$1" in update) {update};; install) {install};; esac\n',
        )
    _tool(bin_dir / "python", f'echo "python $* {REQUIRE_ENV}=${REQUIRE_ENV}" >> {log}\n')
    env: Dict[str, str] = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    assert BASH is not None
    done = subprocess.run(
        [BASH, str(repo / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    return done, log.read_text().splitlines() if log.exists() else []


def test_ci_installs_redis_after_updating_the_package_lists_and_requires_the_tests(tmp_path: Path) -> None:
    done, log = _ci(tmp_path)
    assert done.returncode == 0, done.stderr
    assert log[0].startswith("apt-get update") and "DEBIAN_FRONTEND=noninteractive" in log[0]
    assert log[1].startswith("apt-get install -y -q --no-install-recommends redis-server")
    assert log[2:] == [
        f"python -m pip install -e .[test] {REQUIRE_ENV}=1",
        f"python -m pytest {REQUIRE_ENV}=1",
    ]


def test_ci_fails_when_the_package_lists_cannot_be_updated(tmp_path: Path) -> None:
    done, log = _ci(tmp_path, apt="update-fails")
    assert done.returncode != 0
    assert "apt-get update failed" in done.stderr
    assert not any(line.startswith("python") for line in log)


def test_ci_fails_when_redis_cannot_be_installed(tmp_path: Path) -> None:
    done, log = _ci(tmp_path, apt="install-fails")
    assert done.returncode != 0
    assert "apt-get install redis-server failed" in done.stderr
    assert not any(line.startswith("python") for line in log)


def test_ci_fails_without_apt_get(tmp_path: Path) -> None:
    done, log = _ci(tmp_path, apt=None)
    assert done.returncode != 0
    assert "apt-get is not available" in done.stderr
    assert log == []


def test_ci_uses_sudo_without_a_prompt_when_not_root(tmp_path: Path) -> None:
    done, log = _ci(tmp_path, uid=1000, sudo=True)
    assert done.returncode == 0, done.stderr
    assert log[0].startswith("sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update")
    assert any(line.startswith("sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install") for line in log)


def test_ci_fails_when_not_root_and_without_sudo(tmp_path: Path) -> None:
    done, log = _ci(tmp_path, uid=1000)
    assert done.returncode != 0
    assert "needs root or sudo" in done.stderr
    assert log == []


def test_ci_does_not_touch_packages_when_redis_is_there(tmp_path: Path) -> None:
    done, log = _ci(tmp_path, installed=True)
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in log] == ["python", "python"]
    assert all(line.endswith(f"{REQUIRE_ENV}=1") for line in log)


@pytest.mark.parametrize(("required", "expected"), [("1", "error"), ("", "skipped")])
def test_the_redis_test_modules_error_out_instead_of_skipping_when_required(required: str, expected: str) -> None:
    env = dict(os.environ, PATH=str(REPO / "no-such-dir"), **{REQUIRE_ENV: required})
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_redis_gateway.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert expected in done.stdout.splitlines()[-1], done.stdout
    # pytest exits 2 for a collection error, 5 when every test was skipped.
    assert done.returncode == (2 if expected == "error" else 5)
