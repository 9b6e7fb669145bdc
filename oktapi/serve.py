"""Serve Oktopus with uvicorn, trusting forwarded headers only from the configured proxy.

uvicorn believes X-Forwarded-For and X-Forwarded-Proto from 127.0.0.1 unless told otherwise,
so on a server where anyone can reach the port through loopback, or behind a proxy that does
not overwrite them, a caller could pick its own address (and reset the login limit). This runs
the documented command with `--no-proxy-headers`, or with `--proxy-headers
--forwarded-allow-ips=...` when OKTOPUS_FORWARDED_ALLOW_IPS names the proxy; and without
uvicorn's `Server` header.

    python -m oktapi.serve [--host 127.0.0.1] [--port 8000] [-- other uvicorn options]
"""

import argparse
import os
import shlex
import sys

from oktapi.settings import Settings


def uvicorn_arguments(settings: Settings, *, host: str, port: int) -> list[str]:
    """The `uvicorn` command line (after `python -m`) that these settings call for."""
    arguments = ["uvicorn", "fast:app", "--host", host, "--port", str(port), "--no-server-header"]
    if settings.forwarded_allow_ips:
        arguments += ["--proxy-headers", f"--forwarded-allow-ips={settings.forwarded_allow_ips}"]
    else:
        arguments.append("--no-proxy-headers")
    return arguments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("extra", nargs="*", help="more uvicorn options, after --")
    arguments = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValueError as error:
        print(f"serve: invalid configuration: {error}", file=sys.stderr)
        return 2
    command = uvicorn_arguments(settings, host=arguments.host, port=arguments.port)
    command += arguments.extra
    print(f"serve: python -m {shlex.join(command)}", file=sys.stderr, flush=True)
    # The same process becomes uvicorn, so signals and the pid reach the server itself.
    os.execv(sys.executable, [sys.executable, "-m", *command])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
