"""One oxAuth process: uvicorn (uvloop + httptools) serving the app from the environment.

``oxswarm run oxauth`` with one worker puts its settings in the environment
(:mod:`oxswarm.oxauth.asgi`) and replaces itself (``exec``, same PID) with
``python -m oxswarm.oxauth.serve HOST PORT LOG_LEVEL [-v]``: the process then holds
oxAuth's modules only, not the whole command line's (the SAML IdP's XML schemas, the Docker
client, ...), some 25 MiB less resident memory (docs/performance.md). No secret in argv.
"""

from __future__ import annotations

import sys


def serve(host: str, port: int, workers: int, log_level: str) -> None:
    import uvicorn

    from oxswarm.oxauth.http_protocol import DocumentProtocol

    uvicorn.run(
        "oxswarm.oxauth.asgi:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http=DocumentProtocol,  # httptools; discovery and the JWKS answered from the parser
        log_level=log_level,
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4) or not argv[1].isdigit():
        print("usage: python -m oxswarm.oxauth.serve HOST PORT LOG_LEVEL [-v]", file=sys.stderr)
        return 2
    from oxswarm.cli import logs

    logs.configure(verbose=argv[3:] == ["-v"])
    serve(argv[0], int(argv[1]), 1, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
