"""The malloc arena cap of long-running crewchief processes (crewchief/malloc.py)."""

from __future__ import annotations

import os
import subprocess
import sys

CODE = "from crewchief.malloc import limit_malloc_arenas; print(limit_malloc_arenas())"


def run(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_cap_is_set_unless_the_operator_chose_one() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert run(env) == "True"
    assert run(env | {"MALLOC_ARENA_MAX": "4"}) == "False"
