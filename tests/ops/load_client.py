"""An app under load: `python -m tests.ops.load_client URL ALIAS MARKER OUT STOPFILE`.

Touches OUT.ready after its first request, then loops until STOPFILE exists: reads
the marker point through the alias and runs a search through it; every point's
payload names the version it belongs to.  Records every request as
[start, end, answer] into OUT (JSON) at the end, where answer is the versions seen
("v1", "v2", or "v1+v2" for a request whose two calls straddled the switch) or
"ERROR: ...".
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
            hits = client.query_points(
                alias, query=rng.normal(size=16).tolist(), limit=5, with_payload=True
            ).points
            payloads = [point.payload, *(h.payload for h in hits)]
            if len(hits) != 5 or not all(payloads):
                answer = f"ERROR: {len(hits)} hits, payloads {payloads}"
            else:
                answer = "+".join(sorted({str(p["version"]) for p in payloads if p}))
        except Exception as exc:  # every failure is recorded and fails the test
            answer = f"ERROR: {exc}"
        records.append([t0, time.time(), answer])
        if len(records) == 1:
            Path(out + ".ready").touch()  # the test starts the deploy once every client runs
    Path(out).write_text(json.dumps(records))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
