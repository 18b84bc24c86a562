"""`pip install .` without extras, in a fresh virtual environment, gives a server that starts,
seeds the demo and answers. (SQLAlchemy 2.1 no longer installs greenlet; only the test extra
brought it in through Playwright, so a plain install could not start.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_a_plain_install_serves_the_demo(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         str(ROOT)], capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    freeze = subprocess.run([str(python), "-m", "pip", "freeze"], capture_output=True,
                            text=True, check=True).stdout.lower()
    assert "playwright" not in freeze and "pytest" not in freeze  # truly without the extras

    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEPLEDGE_")}
    env.update({"LIVEPLEDGE_DATA_DIR": str(tmp_path / "data"), "LIVEPLEDGE_LOG_LEVEL": "warning",
                "LIVEPLEDGE_PASSWORD_TIME_COST": "1", "LIVEPLEDGE_PASSWORD_MEMORY_KIB": "8192"})
    command = env_dir / "bin" / "livepledge"
    seeded = subprocess.run([str(command), "demo", "--seed-only", "--json", "--buyers", "2"],
                            env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    demo = json.loads(seeded.stdout)

    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen([str(command), "serve", "--port", str(port)], env=env,
                              stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:  # readiness probe
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.1)
        session = httpx.get(f"{base}/api/v1/sessions/{demo['session_id']}", timeout=10)
        assert session.status_code == 200
        assert session.json()["id"] == demo["session_id"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert sys.executable != str(python)
