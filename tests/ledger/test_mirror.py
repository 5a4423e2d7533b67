"""Static mirrors of the tlog-tiles tree: written incrementally, checkpoint last, verified from files."""

from __future__ import annotations

import fcntl
import functools
import os
import random
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from pollwatch.cli.main import app
from pollwatch.errors import ConflictError, InputError, NotFoundError, StorageError, VerificationError
from pollwatch.ledger import service
from pollwatch.ledger.checkpoint import Checkpoint, open_checkpoint
from pollwatch.ledger.merkle import (
    MemoryHashes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_leaves,
    stored_hash_index,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from pollwatch.ledger.mirror import (
    LOCK,
    STAGING,
    db_fetch,
    dir_fetch,
    mirror_log,
    url_fetch,
)
from pollwatch.ledger.mirror_verify import verify_mirror
from pollwatch.ledger.note import Signer, sign_note
from pollwatch.ledger.records import LeafRecord, canonical_bytes
from pollwatch.ledger.settings import LogSettings
from pollwatch.ledger.tiles import (
    ENTRIES,
    TILE_WIDTH,
    Fetch,
    TileHashes,
    check_available,
    decode_entries,
    encode_entries,
    entries_path,
    hash_tile,
    list_tiles,
    parse_tile_path,
    split_stored_hash_index,
)
from pollwatch.storage import Database
from tests.ledger.conftest import ORIGIN


class MemoryLog:
    """An in-memory log serving the tlog-tiles tree, independent of the database."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer
        self.entries: list[bytes] = []
        self.tree = MemoryHashes()

    def append(self, count: int) -> None:
        new = [f'{{"n":{len(self.entries) + i}}}'.encode() for i in range(count)]
        self.entries += new
        self.tree.extend_entries(new)

    def note(self) -> str:
        return sign_note(Checkpoint(ORIGIN, self.tree.size, self.tree.root()).body(), [self.signer])

    def fetch(self, path: str) -> bytes:
        if path == "checkpoint":
            return self.note().encode()
        ref = parse_tile_path(path)
        check_available(ref, self.tree.size)
        if ref.level == ENTRIES:
            start = ref.index * TILE_WIDTH
            return encode_entries(self.entries[start : start + ref.width])
        return hash_tile(ref, self.tree)


@pytest.fixture
def log(log_signer: Signer) -> MemoryLog:
    memory = MemoryLog(log_signer)
    memory.append(600)
    return memory


def _files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file of a mirror (relative path -> inode, mtime)."""
    return {
        str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    }


def _entry(fetch: Fetch, index: int, size: int) -> bytes:
    """Entry ``index`` of a tree of ``size`` leaves, read from its entry bundle."""
    width = min(TILE_WIDTH, size - index // TILE_WIDTH * TILE_WIDTH)
    return decode_entries(fetch(entries_path(index // TILE_WIDTH, width)))[index % TILE_WIDTH]


def _check_from_files(fetch: Fetch, log_signer: Signer, *, samples: int = 12) -> Checkpoint:
    """Verify a mirror with the proof code alone: random inclusions and the re-derived root."""
    checkpoint = open_checkpoint(fetch("checkpoint").decode(), log_signer.verifier())
    tiles = TileHashes(fetch, checkpoint.size)
    for index in random.Random(7).sample(range(checkpoint.size), samples):
        proof = inclusion_proof(index, checkpoint.size, tiles)
        verify_inclusion(
            leaf_hash(_entry(fetch, index, checkpoint.size)), index, checkpoint.size, proof, checkpoint.root
        )
    bundles = [ref.path for ref in list_tiles(checkpoint.size) if ref.level == ENTRIES]
    entries = [entry for path in bundles for entry in decode_entries(fetch(path))]
    assert root_from_leaves([leaf_hash(e) for e in entries]) == checkpoint.root
    return checkpoint


@given(st.integers(0, 40), st.integers(0, 2**40))
def test_split_stored_hash_index_inverts_stored_hash_index(level: int, n: int) -> None:
    assert split_stored_hash_index(stored_hash_index(level, n)) == (level, n)


def test_tile_hashes_read_the_same_hashes_as_the_tree(log: MemoryLog) -> None:
    log.append(70_000 - 600)  # a full level-1 tile and a partial level-2 tile
    tiles = TileHashes(log.fetch, log.tree.size)
    indexes = [stored_hash_index(level, 3) for level in range(0, 17) if (4 << level) <= log.tree.size]
    assert tiles.read_hashes(indexes) == log.tree.read_hashes(indexes)
    assert tree_root(log.tree.size, tiles) == log.tree.root()
    with pytest.raises(NotFoundError, match="not in the tree"):
        tiles.read_hashes([stored_hash_index(4, 70_000 // 16)])  # in the partial tile, not complete
    with pytest.raises(NotFoundError, match="beyond the tree"):
        tiles.read_hashes([stored_hash_index(3, 10_000)])


def test_mirror_verifies_from_files_alone(log: MemoryLog, log_signer: Signer, tmp_path: Path) -> None:
    summary = mirror_log(log.fetch, tmp_path / "m", log_key=log_signer.verifier())
    assert summary.size == 600
    assert summary.checkpoint_written
    assert set(summary.written) == {
        "tile/0/000", "tile/0/001", "tile/0/002.p/88", "tile/1/000.p/2",
        "tile/entries/000", "tile/entries/001", "tile/entries/002.p/88",
    }  # fmt: skip
    assert not (tmp_path / "m" / STAGING).exists()
    checkpoint = _check_from_files(dir_fetch(tmp_path / "m"), log_signer)
    assert checkpoint.root == log.tree.root()
    report = verify_mirror(dir_fetch(tmp_path / "m"), log_key=log_signer.verifier())
    assert report.ok, report.failed()
    assert [c.name for c in report.checks] == [
        "trust anchor",
        "checkpoint signature",
        "witness quorum",
        "tiles present",
        "tiles match the checkpoint",
        "entries match tiles",
        "tree matches checkpoint",
        "earlier checkpoints",
    ]


def test_second_run_writes_only_new_files_and_stays_consistent(
    log: MemoryLog, log_signer: Signer, tmp_path: Path
) -> None:
    out = tmp_path / "m"
    mirror_log(log.fetch, out, log_key=log_signer.verifier())
    old_note = (out / "checkpoint").read_text()
    before = _files(out)
    log.append(70_000 - 600)
    summary = mirror_log(log.fetch, out, log_key=log_signer.verifier())
    after = _files(out)
    assert set(summary.written) == {p for p in set(after) - set(before) if p.startswith("tile/")}
    assert "tile/1/000" in summary.written  # a full level-1 tile, checked against tile/2
    unchanged = {p for p in before if p not in ("checkpoint", "checkpoints/index")}
    assert {p: after[p] for p in unchanged} == {p: before[p] for p in unchanged}
    new = _check_from_files(dir_fetch(out), log_signer, samples=40)
    old = open_checkpoint(old_note, log_signer.verifier())
    proof = consistency_proof(old.size, new.size, TileHashes(dir_fetch(out), new.size))
    verify_consistency(old.size, new.size, proof, old.root, new.root)
    assert verify_mirror(dir_fetch(out), log_key=log_signer.verifier()).ok
    again = mirror_log(log.fetch, out, log_key=log_signer.verifier())
    assert (again.written, again.checkpoint_written, _files(out)) == ((), False, after)


def test_checkpoint_is_written_after_every_tile(
    log: MemoryLog, log_signer: Signer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "m"
    mirror_log(log.fetch, out, log_key=log_signer.verifier())
    log.append(300)
    renamed: list[str] = []
    real = os.replace

    def record(src: str | Path, dst: str | Path) -> None:
        real(src, dst)
        if STAGING not in Path(dst).parts:
            renamed.append(str(Path(dst).relative_to(out)))

    monkeypatch.setattr(os, "replace", record)
    summary = mirror_log(log.fetch, out, log_key=log_signer.verifier())
    assert renamed[-1] == "checkpoint"
    assert renamed[-3:-1] == ["checkpoints/900", "checkpoints/index"]  # the history, just before
    assert sorted(renamed[:-3]) == sorted(summary.written)


def test_two_runs_never_write_one_mirror_at_once(log: MemoryLog, log_signer: Signer, tmp_path: Path) -> None:
    out = tmp_path / "m"
    mirror_log(log.fetch, out, log_key=log_signer.verifier())
    log.append(10)
    with open(out / LOCK, "a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(ConflictError, match="another mirror run"):
            mirror_log(log.fetch, out, log_key=log_signer.verifier())
    assert mirror_log(log.fetch, out, log_key=log_signer.verifier()).size == 610


def _tampered(fetch: Fetch, path: str) -> Fetch:
    def wrapped(asked: str) -> bytes:
        data = fetch(asked)
        return data[:-1] + bytes([data[-1] ^ 1]) if asked == path else data

    return wrapped


@pytest.mark.parametrize("path", ["tile/0/002", "tile/0/003.p/132", "tile/entries/002", "tile/1/000.p/3"])
def test_a_tampered_source_publishes_nothing(
    log: MemoryLog, log_signer: Signer, tmp_path: Path, path: str
) -> None:
    out = tmp_path / "m"
    mirror_log(log.fetch, out, log_key=log_signer.verifier())
    before = _files(out)
    log.append(300)
    with pytest.raises(VerificationError):
        mirror_log(_tampered(log.fetch, path), out, log_key=log_signer.verifier())
    assert _files(out) == before
    assert verify_mirror(dir_fetch(out), log_key=log_signer.verifier()).ok


def test_an_interrupted_run_leaves_the_old_mirror_whole(
    log: MemoryLog, log_signer: Signer, tmp_path: Path
) -> None:
    out = tmp_path / "m"
    mirror_log(log.fetch, out, log_key=log_signer.verifier())
    log.append(300)

    def failing(path: str) -> bytes:
        if path == "tile/entries/002":
            raise StorageError("connection reset")
        return log.fetch(path)

    with pytest.raises(StorageError):
        mirror_log(failing, out, log_key=log_signer.verifier())
    assert open_checkpoint((out / "checkpoint").read_text(), log_signer.verifier()).size == 600
    assert verify_mirror(dir_fetch(out), log_key=log_signer.verifier()).ok
    assert mirror_log(log.fetch, out, log_key=log_signer.verifier()).size == 900


def test_a_forked_log_is_refused(log_signer: Signer, tmp_path: Path) -> None:
    honest, fork = MemoryLog(log_signer), MemoryLog(log_signer)
    honest.append(300)
    fork.entries = [b"rewritten"]
    fork.tree.extend_entries(fork.entries)
    fork.append(400)
    out = tmp_path / "m"
    mirror_log(honest.fetch, out, log_key=log_signer.verifier())
    with pytest.raises(VerificationError, match="split view"):
        mirror_log(fork.fetch, out, log_key=log_signer.verifier())
    assert open_checkpoint((out / "checkpoint").read_text(), log_signer.verifier()).size == 300


def test_damage_to_the_mirror_itself_is_reported(log: MemoryLog, log_signer: Signer, tmp_path: Path) -> None:
    out = tmp_path / "m"
    mirror_log(log.fetch, out, log_key=log_signer.verifier())
    tile = out / "tile/1/000.p/2"
    tile.write_bytes(bytes(64))
    with pytest.raises(VerificationError, match="own tiles are damaged"):
        mirror_log(log.fetch, out, log_key=log_signer.verifier())
    tile.unlink()
    assert mirror_log(log.fetch, out, log_key=log_signer.verifier()).written == ("tile/1/000.p/2",)


def test_mirror_refuses_another_key_a_smaller_tree_and_a_foreign_directory(
    log: MemoryLog, log_signer: Signer, tmp_path: Path
) -> None:
    out = tmp_path / "m"
    mirror_log(log.fetch, out, log_key=log_signer.verifier())
    other = Signer.from_seed(ORIGIN, bytes(32))
    with pytest.raises(VerificationError):
        mirror_log(log.fetch, tmp_path / "other", log_key=other.verifier())
    with pytest.raises(InputError, match="not a checkpoint of this log"):
        mirror_log(MemoryLog(other).fetch, out, log_key=other.verifier())
    smaller = MemoryLog(log_signer)
    smaller.append(10)
    with pytest.raises(ConflictError, match="behind"):
        mirror_log(smaller.fetch, out, log_key=log_signer.verifier())
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("hello")
    with pytest.raises(InputError, match="holds no mirror"):
        mirror_log(log.fetch, tmp_path / "site", log_key=log_signer.verifier())


@pytest.mark.parametrize(
    "path", ["tile/0/001", "tile/1/000.p/2", "tile/entries/000", "tile/entries/002.p/88"]
)
def test_a_tampered_mirrored_tile_is_detected(
    log: MemoryLog, log_signer: Signer, tmp_path: Path, path: str
) -> None:
    out = tmp_path / "m"
    mirror_log(log.fetch, out, log_key=log_signer.verifier())
    target = out / path
    data = target.read_bytes()
    target.write_bytes(data[:40] + bytes([data[40] ^ 0x80]) + data[41:])
    report = verify_mirror(dir_fetch(out), log_key=log_signer.verifier())
    assert not report.ok
    failed = {c.name for c in report.failed()}
    assert failed & {"tiles match the checkpoint", "entries match tiles"}
    if path.startswith("tile/entries"):
        assert "tree matches checkpoint" in failed
    else:  # an inclusion proof through the tampered tile no longer verifies
        index = 300 if path == "tile/0/001" else 5
        checkpoint = open_checkpoint((out / "checkpoint").read_text(), log_signer.verifier())
        proof = inclusion_proof(index, 600, TileHashes(dir_fetch(out), 600))
        with pytest.raises(VerificationError):
            verify_inclusion(leaf_hash(log.entries[index]), index, 600, proof, checkpoint.root)


def test_a_truncated_or_missing_mirrored_tile_is_detected(
    log: MemoryLog, log_signer: Signer, tmp_path: Path
) -> None:
    out = tmp_path / "m"
    mirror_log(log.fetch, out, log_key=log_signer.verifier())
    (out / "tile/0/000").write_bytes((out / "tile/0/000").read_bytes()[:-32])
    (out / "tile/entries/001").unlink()
    failed = {c.name: c for c in verify_mirror(dir_fetch(out), log_key=log_signer.verifier()).failed()}
    assert "tile/entries/001" in failed["tiles present"].found
    assert "tile/0/000" in failed["tiles match the checkpoint"].found
    assert "tree matches checkpoint" in failed
    # The next run repairs the truncated hash tile and restores the missing bundle.
    summary = mirror_log(log.fetch, out, log_key=log_signer.verifier())
    assert set(summary.written) == {"tile/0/000", "tile/entries/001"}
    assert verify_mirror(dir_fetch(out), log_key=log_signer.verifier()).ok


@pytest.fixture
def serve_dir() -> Iterator[Callable[[Path], str]]:
    servers: list[ThreadingHTTPServer] = []

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    def start(root: Path) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_mirror_served_by_a_static_web_server_verifies_over_http(
    log: MemoryLog, log_signer: Signer, tmp_path: Path, serve_dir: Callable[[Path], str]
) -> None:
    mirror_log(log.fetch, tmp_path / "m", log_key=log_signer.verifier())
    base = serve_dir(tmp_path / "m")
    fetch = url_fetch(base + "/")
    checkpoint = open_checkpoint(fetch("checkpoint").decode(), log_signer.verifier())
    proof = inclusion_proof(421, checkpoint.size, TileHashes(fetch, checkpoint.size))
    verify_inclusion(
        leaf_hash(_entry(fetch, 421, checkpoint.size)), 421, checkpoint.size, proof, checkpoint.root
    )
    assert verify_mirror(fetch, log_key=log_signer.verifier()).ok
    with pytest.raises(NotFoundError):
        fetch("tile/0/009")
    # A mirror of the mirror, over HTTP, then brought up to date from it.
    second = mirror_log(fetch, tmp_path / "m2", log_key=log_signer.verifier())
    assert second.size == 600
    log.append(100)
    mirror_log(log.fetch, tmp_path / "m", log_key=log_signer.verifier())
    assert mirror_log(fetch, tmp_path / "m2", log_key=log_signer.verifier()).size == 700
    assert _files(tmp_path / "m2").keys() == _files(tmp_path / "m").keys()


def test_url_fetch_refuses_other_schemes() -> None:
    with pytest.raises(InputError, match="http"):
        url_fetch("file:///etc")


def test_mirror_of_the_database_equals_the_log(db: Database, settings: LogSettings, tmp_path: Path) -> None:
    records = [LeafRecord("incident", {"n": i}) for i in range(520)]
    with db.begin() as conn:
        service.append(conn, records[:300])
    key = settings.signer.verifier()
    mirror_log(db_fetch(db, settings), tmp_path / "m", log_key=key)
    with db.begin() as conn:
        service.append(conn, records[300:])
    service.sign_checkpoint(db, settings)
    summary = mirror_log(db_fetch(db, settings), tmp_path / "m", log_key=key)
    assert summary.size == 520
    assert "tile/entries/001" in summary.written
    memory = MemoryHashes()
    memory.extend_entries([canonical_bytes(r) for r in records])
    assert _check_from_files(dir_fetch(tmp_path / "m"), settings.signer).root == memory.root()
    assert verify_mirror(dir_fetch(tmp_path / "m"), log_key=key).ok


def test_cli_mirrors_the_database_and_verifies_the_mirror(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POLLWATCH_LOG_ORIGIN", "cli.example/log")
    monkeypatch.delenv("POLLWATCH_LOG_KEY", raising=False)
    with sqlite_db.begin() as conn:
        service.append(conn, [LeafRecord("incident", {"n": i}) for i in range(300)])
    out, url = tmp_path / "m", sqlite_db.url
    result = CliRunner().invoke(app, ["log", "mirror", str(out), "--db", url])
    assert result.exit_code == 0, result.output
    assert "size 300, 5 tiles written, 0 kept, checkpoint written" in result.output
    vkey = (tmp_path / "home" / "keys" / "log.vkey").read_text().strip()
    result = CliRunner().invoke(
        app, ["log", "verify-mirror", str(out), "--log-key", vkey, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert '"ok": true' in result.output
    copy = tmp_path / "copy"
    result = CliRunner().invoke(app, ["log", "mirror", str(copy), "--from", str(out), "--log-key", vkey])
    assert result.exit_code == 0, result.output
    assert (copy / "checkpoint").read_bytes() == (out / "checkpoint").read_bytes()
    result = CliRunner().invoke(app, ["log", "mirror", str(copy), "--from", str(out)])
    assert result.exit_code == 1
    assert "--from needs --log-key" in result.output
    bundle = out / "tile/entries/001.p/44"
    bundle.write_bytes(bundle.read_bytes().replace(b'"n":260', b'"n":261'))
    result = CliRunner().invoke(app, ["log", "verify-mirror", str(out), "--log-key", vkey])
    assert result.exit_code == 1
    assert "FAILED" in result.output
