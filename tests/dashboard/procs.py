"""Start `crewchief dashboard` in a subprocess, through the installed console script
(so the command's registration in cli/main.py is what runs)."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

OPEN = re.compile(r"crewchief dashboard: open (http://\S+?)/dashboard/")
CREWCHIEF = Path(sys.executable).with_name("crewchief")  # the venv's console script


class DashboardProcess:
    """The standalone dashboard on a port the OS picks; `url` is its root."""

    def __init__(self, *args: str, env: dict[str, str], timeout: float = 30.0) -> None:
        argv = [str(CREWCHIEF), "dashboard", "--port", "0", *args]
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.url = self._wait_open(timeout)
        for stream in (self.proc.stdout, self.proc.stderr):  # keep the pipes from filling
            threading.Thread(target=_drain, args=(stream,), daemon=True).start()

    def _wait_open(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            match = OPEN.search(line)
            if match:
                return match.group(1)
            if not line and self.proc.poll() is not None:
                break
        self.stop()
        stderr = self.proc.stderr.read() if self.proc.stderr else ""
        code = self.proc.poll()
        raise RuntimeError(f"crewchief dashboard did not start (exit {code}):\n{stderr}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def _drain(stream: IO[str] | None) -> None:
    if stream is not None:
        for _line in stream:
            pass
