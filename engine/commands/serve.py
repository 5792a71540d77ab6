"""`backoffice serve`: the HTTP server for offices that reach the database through it."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from engine.cli_support import handles_errors, open_database, out, settings

serve_app = typer.Typer(add_completion=False)


@serve_app.command("serve")
@handles_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (behind a reverse proxy: 127.0.0.1).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes (PostgreSQL: several; "
                                                             "SQLite: 1).")] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) over the configured database.

    Put it behind a reverse proxy that holds the TLS certificate (README: "Server mode")."""
    import uvicorn  # here: only `serve` needs the web server

    config = settings()
    open_database(config, check_all=True, serving=True).dispose()   # refuse a wrong setting here, not in each worker
    if workers > 1 and config.database_url.startswith("sqlite"):
        out.print("note: several workers on one SQLite file take turns to write; PostgreSQL serves them better")
    os.environ["BACKOFFICE_DATABASE_URL"] = config.database_url   # the workers read the same settings
    out.print(f"serving on http://{host}:{port} (OpenAPI: /docs) with {workers} worker(s); Ctrl+C stops")
    uvicorn.run("engine.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                proxy_headers=True, forwarded_allow_ips="127.0.0.1", log_level="info",
                # Longer than the idle time of a client's or proxy's pooled connection (httpx: 5 s,
                # nginx upstream: 60 s): a server closing one first races the next request sent
                # on it, and the client sees the connection drop.
                timeout_keep_alive=75)
