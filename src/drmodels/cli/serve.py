"""`drmodels serve`: the API (and the console) on uvicorn, over the embedded default or the configured
registry and store; jobs run in the server's own pool."""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer

from drmodels.cli.options import DataDir, settings
from drmodels.config import env_name

APP = "drmodels.server:create_app"
"""The app factory, by import string: the CLI never imports another entrypoint."""
STOP_GRACE_S = 10


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8080,
    data_dir: DataDir = None,
) -> None:
    """Serve the DeepRacer API (JSON 1.1 at POST /, REST, GET /health) until SIGTERM or Ctrl-C.

    On stop it takes no more requests, finishes the ones it has (up to 10 s) and leaves running
    imports for the next start, which resumes them.
    """
    import uvicorn

    if data_dir is not None:  # the factory reads the settings from the environment, as every child does
        os.environ[env_name("data_dir")] = str(data_dir.resolve())
    settings(None)  # a bad setting stops here, in one line, before the server starts
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        uvicorn.run(
            APP,
            factory=True,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=STOP_GRACE_S,
            server_header=False,
        )
        code = 0
    except KeyboardInterrupt:  # uvicorn re-raises the signal it stopped on; SIGTERM ends us right there
        code = 130
    except SystemExit as exc:  # uvicorn could not listen (the port is taken, ...): it said why
        code = exc.code if isinstance(exc.code, int) else 1
    _exit_now(code)


def _exit_now(code: int) -> None:
    """Exit without waiting for running import threads: their jobs stay RUNNING under this ending
    process, which the next start sees as lost and resumes."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
