"""`python -m crewchief.server --data DIR [--host H] [--port P]`.

The same server as `crewchief serve`, without the CLI around it (tests start
it this way in a subprocess).  Keys also come from CREWCHIEF_API_KEY and
CREWCHIEF_READ_ONLY_API_KEY, JWT RBAC from CREWCHIEF_JWT_RBAC; the upload limit
from CREWCHIEF_MAX_UPLOAD_BYTES.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from crewchief.errors import CrewchiefError
from crewchief.server.runner import env_flag, run_server


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m crewchief.server")
    parser.add_argument("--data", type=Path, required=True, help="data directory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6333, help="0 lets the OS choose")
    parser.add_argument(
        "--grpc-port",
        default=None,
        help="gRPC port (default 6334, OS-picked with --port 0); `auto`: OS-picked; 0: off",
    )
    parser.add_argument("--api-key", default=os.environ.get("CREWCHIEF_API_KEY"))
    parser.add_argument(
        "--read-only-api-key", default=os.environ.get("CREWCHIEF_READ_ONLY_API_KEY")
    )
    parser.add_argument(
        "--max-upload-bytes", type=int, default=None, help="default: $CREWCHIEF_MAX_UPLOAD_BYTES"
    )
    parser.add_argument(
        "--repo",
        default=os.environ.get("CREWCHIEF_REPO") or None,
        help="backup repository the dashboard shows (default: $CREWCHIEF_REPO)",
    )
    parser.add_argument(
        "--jwt-rbac",
        action="store_true",
        default=env_flag("CREWCHIEF_JWT_RBAC"),
        help="JWTs signed with the API key grant the access they name",
    )
    parser.add_argument("--tls-cert", type=Path, default=None, help="PEM certificate (HTTPS)")
    parser.add_argument("--tls-key", type=Path, default=None, help="PEM private key (HTTPS)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        run_server(
            args.data,
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            read_only_api_key=args.read_only_api_key,
            max_upload_bytes=args.max_upload_bytes,
            repo_url=args.repo,
            jwt_rbac=args.jwt_rbac,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            grpc_port=args.grpc_port,
        )
    except CrewchiefError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
