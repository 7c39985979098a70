"""`yishi health worker` (docker-compose's check of the worker): healthy only while a worker polls the task queue."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path


def health(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "yishi.cli", "health", "worker"], env=env, capture_output=True,
                          text=True, timeout=60)


def test_health_worker_fails_without_a_polling_worker(temporal_server, database_url, tmp_path: Path) -> None:
    queue = f"health-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("YISHI_")}
    env |= {"YISHI_TEMPORAL_ADDRESS": temporal_server.address, "YISHI_DATABASE_URL": database_url,
            "YISHI_TASK_QUEUE": queue, "YISHI_DATA_DIR": str(tmp_path), "YISHI_LOG_JSON": "true"}
    idle = health(env)
    assert idle.returncode == 1, (idle.stdout, idle.stderr)
    assert f"no worker polls task queue '{queue}'" in idle.stderr and "workflow or activity" in idle.stderr

    worker = subprocess.Popen([sys.executable, "-m", "yishi.cli", "worker"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while (checked := health(env)).returncode != 0 and time.monotonic() < deadline:
            assert worker.poll() is None, "the worker exited"
            time.sleep(0.5)
        assert checked.returncode == 0, checked.stderr
        assert f"on task queue '{queue}'" in checked.stdout
    finally:
        worker.terminate()
        worker.wait(30)

    other = health(env | {"YISHI_TASK_QUEUE": f"{queue}-other"})
    assert other.returncode == 1, "a worker of another queue does not count"
