"""Run a real Kannel on loopback (bearerbox, smsbox and its fake SMS centre) for the tests and the bench.

Debian's ``kannel`` and ``kannel-extras`` packages (``make system`` installs them). Ports are chosen
free at start, the configuration is written to a temporary folder, and :meth:`KannelRun.stop` ends
every process this module started, by its id. ``fakesmsc`` plays the phones: each :meth:`send` runs
one, which sends one message and prints what Kannel sends back (``Got message N: <from to type text>``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pollwatch.auth import Assignment, AuthRole, create_submitter, register_device
from pollwatch.auth.devices import device_key_id, public_key_of
from pollwatch.auth.phones import election_country, parse_phone
from pollwatch.intake.testing import SLUG, create_tiny_election
from pollwatch.storage import Database
from pollwatch.storage import submitters as submitter_store

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
SHORT_CODE = "7788"


def missing() -> str | None:
    """Why Kannel cannot run here (None when it can)."""
    for path in (BEARERBOX, SMSBOX, FAKESMSC):
        if not os.access(path, os.X_OK):
            return f"{path} not found: install Debian's kannel and kannel-extras (`make system`, as root)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Reply:
    """One SMS Kannel sent back to the phone: its coding (``text``, ``ucs-2``...) and decoded text."""

    coding: str
    text: str


def parse_reply(line: str) -> Reply | None:
    """A ``Got message N: <from to type text>`` line of fakesmsc, decoded; None for other lines."""
    _, found, rest = line.partition(": <")
    if not found or "Got message" not in line:
        return None
    _, _, coding, text = rest.rstrip().removesuffix(">").split(" ", 3)
    if coding == "ucs-2":  # URL-encoded UTF-16BE, '+' for a space byte
        return Reply(coding, urllib.parse.unquote_to_bytes(text.replace("+", " ")).decode("utf-16-be"))
    if coding == "data":
        return Reply(coding, urllib.parse.unquote_plus(text))
    return Reply(coding, text)


@dataclass
class KannelRun:
    """A running bearerbox + smsbox whose sms-service fetches ``get_url``."""

    folder: Path
    fake_port: int
    sendsms_url: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def receive(self, count: int, *, timeout: float = 20.0) -> list[Reply]:
        """Connect a phone that sends nothing (fakesmsc's interactive mode) and collect ``count`` SMS."""
        return self._phone(
            [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.fake_port), "-m", "0"], count, timeout
        )

    def send(self, line: str, *, replies: int = 1, timeout: float = 20.0) -> list[Reply]:
        """Send one message (``sender receiver type [udh] text``, fakesmsc's format); wait for replies."""
        return self.send_many([line], count=1, replies=replies, timeout=timeout)

    def send_many(
        self, lines: list[str], *, count: int, replies: int, timeout: float, interval: float = 0.0
    ) -> list[Reply]:
        """Send ``count`` messages picked at random among ``lines``; wait for ``replies`` replies."""
        args = [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.fake_port), "-m", str(count),
                "-i", str(interval), *lines]  # fmt: skip
        return self._phone(args, replies, timeout)

    def _phone(self, args: list[str], replies: int, timeout: float) -> list[Reply]:
        # stdin stays open: fakesmsc ends at EOF of its standard input
        phone = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.PIPE
        )
        got: list[Reply] = []
        done = threading.Event()

        def read() -> None:
            assert phone.stdout is not None
            for raw in phone.stdout:
                reply = parse_reply(raw.decode("utf-8", "replace"))
                if reply is not None:
                    got.append(reply)
                    if len(got) >= replies:
                        done.set()
            done.set()

        threading.Thread(target=read, daemon=True).start()
        if replies > 0:
            done.wait(timeout)
        else:
            time.sleep(min(timeout, 1.0))  # let it send; it waits for replies forever
        _end(phone)
        return got

    def stop(self) -> None:
        for process in reversed(self.processes):
            _end(process)
        self.processes.clear()

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def start(folder: Path, *, get_url: str, retries: int = 3, queue_delay: int = 1) -> KannelRun:
    """Write kannel.conf under ``folder``, start bearerbox and smsbox, and wait until both listen."""
    folder.mkdir(parents=True, exist_ok=True)
    admin, boxes, fake, sendsms = free_port(), free_port(), free_port(), free_port()
    conf = folder / "kannel.conf"
    conf.write_text(_config(folder, admin=admin, boxes=boxes, fake=fake, get_url=get_url,
                            retries=retries, queue_delay=queue_delay, sendsms=sendsms))  # fmt: skip
    run = KannelRun(folder, fake, f"http://127.0.0.1:{sendsms}/cgi-bin/sendsms")
    try:
        run.processes.append(_spawn([BEARERBOX, str(conf)], folder / "bearerbox.out"))
        _wait_port(boxes, run)
        run.processes.append(_spawn([SMSBOX, str(conf)], folder / "smsbox.out"))
        _wait_port(fake, run)
        _wait_log(folder / "smsbox.log", "Connected to bearerbox", run)
    except BaseException:
        run.stop()
        raise
    return run


def _config(
    folder: Path,
    *,
    admin: int,
    boxes: int,
    fake: int,
    get_url: str,
    retries: int,
    queue_delay: int,
    sendsms: int,
) -> str:
    # A blank line ends a group; get-url is quoted because it has '&' and '%' escapes.
    return f"""group = core
admin-port = {admin}
admin-password = local-test-only
admin-interface = 127.0.0.1
admin-allow-ip = 127.0.0.1
smsbox-port = {boxes}
box-allow-ip = 127.0.0.1
log-file = "{folder / "bearerbox.log"}"
log-level = 1

group = smsc
smsc = fake
smsc-id = fake
port = {fake}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {boxes}
log-file = "{folder / "smsbox.log"}"
log-level = 1
http-request-retry = {retries}
http-queue-delay = {queue_delay}
mo-recode = true
reply-couldnotfetch = "Could not reach pollwatch; please send again later."
reply-emptymessage = ""
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1

group = sms-service
keyword = default
catch-all = true
get-url = "{get_url}"
accept-x-kannel-headers = true
max-messages = 3
concatenation = true
omit-empty = true

group = sendsms-user
username = pollwatch
password = local-test-only
max-messages = 3
concatenation = true
"""


def _spawn(args: list[str], out: Path) -> subprocess.Popen[bytes]:
    with out.open("wb") as sink:
        return subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_port(port: int, run: KannelRun, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _alive(run)
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"bearerbox did not listen on {port}: {run.log('bearerbox')[-500:]}")


def _wait_log(path: Path, text: str, run: KannelRun, *, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _alive(run)
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise TimeoutError(f"{path.name} never said {text!r}; see {run.folder}")


def _alive(run: KannelRun) -> None:
    for process in run.processes:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited ({process.returncode}); see {run.folder}")


@dataclass(frozen=True)
class Site:
    """A pollwatch server for Kannel to reach: its URL, gateway token and the agent's device key."""

    url: str
    gateway_token: str
    device_key: Ed25519PrivateKey
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        _end(self.process)


def serve(
    folder: Path, db_url: str, *, phone: str = "03001234567", env: dict[str, str] | None = None
) -> Site:
    """Prepare a tiny election (an agent registered by phone, a gateway) and serve it on a free port."""
    db = Database(db_url)
    db.upgrade()
    create_tiny_election(db)
    key = Ed25519PrivateKey.generate()
    with db.begin() as conn:
        country = election_country(conn, SLUG)
        agent, _ = create_submitter(conn, role=AuthRole.AGENT, organisation="PartyA",
                                    assignments=[Assignment(SLUG, "NA-1")],
                                    phone=parse_phone(phone, country=country))  # fmt: skip
        row = submitter_store.get_submitter(conn, key_id=agent)
        assert row is not None
        register_device(conn, submitter_id=row.id, public_key=device_key_id(public_key_of(key)))
        _, gateway = create_submitter(conn, role=AuthRole.GATEWAY, organisation="kannel")
    db.dispose()
    port = free_port()
    exe = Path(sys.executable).with_name("pollwatch")
    environment = {**os.environ, "POLLWATCH_HOME": str(folder / "home"), **(env or {})}
    with (folder / "pollwatch.err").open("wb") as err:
        process = subprocess.Popen([str(exe), "serve", "--db", db_url, "--port", str(port)],
                                   env=environment, stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip
    site = Site(f"http://127.0.0.1:{port}", gateway, key, process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pollwatch serve exited: {(folder / 'pollwatch.err').read_text()[-500:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return site
        time.sleep(0.2)
    site.stop()
    raise TimeoutError("pollwatch serve did not listen")


def kannel_url(base: str, token: str, *, election: str = SLUG) -> str:
    """The sms-service get-url onto pollwatch's Kannel adapter (escapes as docs/sms.md shows)."""
    return (f"{base}/api/v1/sms/in/kannel?token={token}&election={election}"
            "&sender=%p&text=%b&id=%I&ts=%T&coding=%c&charset=%C")  # fmt: skip
