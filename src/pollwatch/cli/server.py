"""Commands that serve pollwatch over HTTP: ``serve`` and ``demo``."""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from pollwatch import config
from pollwatch.cli.common import DbOption, console, handled, open_db
from pollwatch.errors import InputError
from pollwatch.ledger.settings import LogSettings
from pollwatch.storage import Database
from pollwatch.synth import Night

HostOption = Annotated[str, typer.Option(help="Address to listen on.")]
PortOption = Annotated[int, typer.Option(help="Port to listen on.")]
WorkersOption = Annotated[
    int,
    typer.Option(min=1, max=64, help="Worker processes (2 on a 2-core machine doubles intake throughput)."),
]


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("publish")(publish)
    app.command("read-node")(read_node)
    app.command("demo")(demo)


def serve(
    db: DbOption = None, host: HostOption = "127.0.0.1", port: PortOption = 8000, workers: WorkersOption = 1
) -> None:
    """Serve the API (OpenAPI at /docs) and the web pages."""
    with handled():
        database = open_db(db)
    _serve(database, host, port, workers)


ProjectionsOption = Annotated[
    str | None,
    typer.Option(
        "--projections",
        help="The node's own database (default POLLWATCH_PROJECTION_DATABASE_URL, else "
        "read-node.sqlite3 in the data directory); created and migrated when missing.",
    ),
]
AreasOption = Annotated[
    list[str] | None,
    typer.Option("--area", help="Apply only these constituencies (codes) or regions; repeatable."),
]


def read_node(
    db: DbOption = None,
    projections: ProjectionsOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    area: AreasOption = None,
) -> None:
    """Serve the public results reads from projections this node keeps in its own database, following
    the log of --db (the primary or a replica) by index. It holds no key and takes no writes; dropping
    its database rebuilds it from the log alone."""
    import uvicorn

    from pollwatch.api.protocol import GuardedProtocol
    from pollwatch.api.readnode import create_read_app

    with handled():
        source = open_db(db)
        local = Database(config.projection_database_url(projections))
        local.upgrade()
    console.print(f"read node on http://{host}:{port}/ following {source.safe_url} into {local.safe_url}")
    app = create_read_app(local, source=source, areas=area or ())
    uvicorn.run(app, host=host, port=port, log_level="warning", http=GuardedProtocol)


IntervalOption = Annotated[
    float, typer.Option(min=0.01, help="Seconds between rounds: the most an entry waits for a checkpoint.")
]


def publish(db: DbOption = None, interval: IntervalOption = 0.25) -> None:
    """Run the checkpoint publisher alone, until SIGTERM or Ctrl-C: the one signer of a cluster.

    Several may run (on PostgreSQL through POLLWATCH_LEADER_DATABASE_URL, a direct connection to the
    primary): one leads and signs, the others take over when its lock session ends. The API nodes run
    with POLLWATCH_PUBLISHER=off.
    """
    import signal
    import threading

    from pollwatch.ledger.publisher import Publisher

    with handled():
        database = open_db(db)
        publisher = Publisher(database, interval=interval)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    console.print(f"publishing checkpoints of {database.safe_url} every {interval:g} s")
    publisher.start()
    try:
        stop.wait()
    finally:
        publisher.stop()
        database.dispose()


SpeedOption = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        help="Night seconds replayed per second (default POLLWATCH_DEMO_SPEED or 720: the whole night "
        "in about 3 minutes; 0: as fast as the server writes).",
    ),
]
SyncOption = Annotated[
    bool, typer.Option("--sync", help="Write the whole night before serving instead of replaying it live.")
]


def demo(
    db: DbOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    speed: SpeedOption = None,
    sync: SyncOption = False,
) -> None:
    """Import the real 2018 election, then serve while its synthetic election night is replayed live.

    Every copy of every sheet is a signed submission written through the server's own intake writer;
    checkpoints are signed as the log grows and cosigned by the demo's witness. A second run resumes
    where the first stopped and duplicates nothing.
    """
    from pollwatch.demo import demo_speed, load_demo, prepare_demo, start_witness
    from pollwatch.synth import first_unwritten

    with handled():
        database = open_db(db, migrate=True)
        night = prepare_demo(database, data_dir=config.shared_data_dir(), say=console.print)
        rate = demo_speed(speed)
        settings, witness = start_witness()
        console.print(f"witness {settings.witnesses[-1].key.vkey} cosigning on {settings.witnesses[-1].url}")
        if sync:
            load_demo(database, night, say=console.print)
        start = first_unwritten(database, night)
    if start < len(night.entries):
        _replay(database, night, start=start, speed=rate)
    else:
        console.print(f"{night.slug}: the whole night is already in the log")
    try:
        _serve(database, host, port, 1, settings=settings, home=night.slug)
    finally:
        witness.shutdown()


def _replay(database: Database, night: Night, *, start: int, speed: float) -> None:
    from pollwatch.intake.writer import get_writer
    from pollwatch.synth import Replay

    pace = "as fast as the server writes" if speed == 0 else f"at {speed:g}x"
    console.print(
        f"replaying the night from sheet {start:,} of {len(night.entries):,} {pace}; watch it arrive on "
        "the pages, in `pollwatch log` and at /log/checkpoint"
    )
    writer = get_writer(database)
    # Larger transactions than HTTP traffic needs: one commit (fsync) per 1,000 sheets, not per 200.
    writer.max_batch = max(writer.max_batch, 1000)
    Replay(night, writer, speed=speed, say=console.print, start=start).start()


def _serve(
    database: Database,
    host: str,
    port: int,
    workers: int,
    *,
    settings: LogSettings | None = None,
    home: str | None = None,
) -> None:
    import uvicorn

    from pollwatch.api.app import create_app

    console.print(
        f"serving {database.safe_url} on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)"
    )
    from pollwatch.api.protocol import GuardedProtocol, timeouts
    from pollwatch.background import separate_process
    from pollwatch.collector import set_for_serving
    from pollwatch.site.shelf import shelf_for_run

    timeouts()  # refuse bad POLLWATCH_*_TIMEOUT and health-check settings before listening
    worker_healthcheck()
    # The projector and the auditor run in a process of their own, at a lower priority than intake,
    # and so does the renderer of the pages the workers serve (site/shelf.py).
    with shelf_for_run(config.home() / "pages"), separate_process(database.url):
        if workers == 1:
            app = create_app(database)
            if settings is not None:
                app.state.ledger_settings = settings
            if home is not None:  # the demo opens on its election night's national page
                app.state.home_election = home
                console.print(
                    f"national page of {home}: http://{host}:{port}/ (Urdu: http://{host}:{port}/ur/)"
                )
            set_for_serving()  # a worker holding 1,000 event streams must not stop for full collections
            uvicorn.run(app, host=host, port=port, log_level="warning", http=GuardedProtocol)
            return
        # Worker processes import the app themselves; they find the database through the environment.
        os.environ["POLLWATCH_DATABASE_URL"] = database.url
        with _spawned_workers_skip_the_cli():
            uvicorn.run(
                "pollwatch.api.app:create_app_from_environment",
                factory=True,
                workers=workers,
                host=host,
                port=port,
                log_level="warning",
                http=GuardedProtocol,  # header and body timeouts for slow clients (api/protocol.py)
                timeout_worker_healthcheck=worker_healthcheck(),
            )


def worker_healthcheck() -> int:
    """Seconds a worker may take to answer uvicorn's health check before it is killed and replaced
    (``POLLWATCH_WORKER_HEALTHCHECK``, default 60). uvicorn's own 5 s also covers a new worker's start,
    and on a busy 2-core machine importing the app takes longer: workers were killed while starting,
    again and again, and a loaded server lost its workers mid-night."""
    raw = os.environ.get("POLLWATCH_WORKER_HEALTHCHECK", "60")
    if not raw.isdigit() or int(raw) < 5:
        raise InputError(f"POLLWATCH_WORKER_HEALTHCHECK must be whole seconds >= 5, found {raw!r}")
    return int(raw)


@contextmanager
def _spawned_workers_skip_the_cli() -> Iterator[None]:
    """A spawned worker first re-imports its parent's ``__main__``, here the whole CLI (scipy and
    matplotlib included) before it imports the app it serves. While uvicorn manages the workers,
    ``__main__`` is an empty module, so a worker imports the app alone."""
    saved = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = saved
