"""Start the real `crewchief serve` in a subprocess on a loopback port the OS picks."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

LISTENING = re.compile(r"crewchief serve: listening on (https?://\S+)")
GRPC_LISTENING = re.compile(r"crewchief serve: gRPC listening on (grpc://\S+)")
START_TIMEOUT = 30.0


class ServerProcess:
    """One server subprocess; `url` is known once it has printed its listening line."""

    def __init__(
        self,
        data: Path,
        *args: str,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.data = data
        base = command or [sys.executable, "-m", "crewchief.server"]
        self.argv = [*base, "--data", str(data), "--port", "0", *args]
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        for name in ("CREWCHIEF_API_KEY", "CREWCHIEF_READ_ONLY_API_KEY", "CREWCHIEF_JWT_RBAC"):
            if env is None or name not in env:
                full_env.pop(name, None)
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full_env,
        )
        self.stdout_lines: queue.Queue[str] = queue.Queue()
        self.stderr_text: list[str] = []
        self._pumps = [
            threading.Thread(target=self._pump_stdout, daemon=True),
            threading.Thread(target=self._pump_stderr, daemon=True),
        ]
        for pump in self._pumps:
            pump.start()
        self.url = ""
        self.grpc_url = ""  # printed before the REST line, unless gRPC is off

    def _pump_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout_lines.put(line)

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_text.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_text)

    def wait_listening(self, timeout: float = START_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.stdout_lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            grpc_match = GRPC_LISTENING.search(line)
            if grpc_match:
                self.grpc_url = grpc_match.group(1)
            match = LISTENING.search(line)
            if match:
                self.url = match.group(1)
                return self.url
        raise RuntimeError(f"server did not start (exit {self.proc.poll()}):\n{self.stderr}")

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def grpc_port(self) -> int:
        return int(self.grpc_url.rsplit(":", 1)[1])

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._join_pumps()
        return self.proc.returncode

    def wait_exit(self, timeout: float = 30.0) -> int:
        code = self.proc.wait(timeout=timeout)
        self._join_pumps()
        return code

    def _join_pumps(self) -> None:
        """After exit: wait until everything the process printed has been read."""
        for pump in self._pumps:
            pump.join(timeout=5)


def start_server(data: Path, *args: str, env: dict[str, str] | None = None) -> ServerProcess:
    server = ServerProcess(data, *args, env=env)
    try:
        server.wait_listening()
    except BaseException:
        server.stop(signal.SIGKILL)
        raise
    return server
