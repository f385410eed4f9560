"""An app under load: `python -m tests.ops.load_client URL ALIAS MARKER OUT STOPFILE`.

Touches OUT.ready after its first request, then loops until STOPFILE exists: reads
the marker point through the alias (its payload names the collection answering) and
runs a search; records every request as
[start, end, version-or-"ERROR: ..."] into OUT (JSON) at the end.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient


def main(url: str, alias: str, marker: int, out: str, stop: str) -> None:
    client = QdrantClient(url=url, timeout=30, check_compatibility=False)
    rng = np.random.default_rng()
    records = []
    while not Path(stop).exists():
        t0 = time.time()
        try:
            point = client.retrieve(alias, [marker])[0]
            client.query_points(alias, query=rng.normal(size=16).tolist(), limit=5)
            answer = str(point.payload["version"]) if point.payload else "ERROR: no payload"
        except Exception as exc:  # every failure is recorded and fails the test
            answer = f"ERROR: {exc}"
        records.append([t0, time.time(), answer])
        if len(records) == 1:
            Path(out + ".ready").touch()  # the test starts the deploy once every client runs
    Path(out).write_text(json.dumps(records))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
