"""``python -m oktapi.backup DEST``: a consistent copy of the embedded store, taken while it runs.

Copying the files with ``cp`` while the server writes can catch a collection half-way through a
commit, or its WAL without its main file. Instead, for every collection file this:

1. takes SQLite's write lock (``BEGIN IMMEDIATE``) on all of them, so no commit is in flight
   anywhere: the store is between two of the server's writes, as after a crash, which the
   service is built to resume from;
2. opens a read transaction on each (in WAL mode a reader keeps its snapshot while others write)
   and releases the write locks at once: the server waits milliseconds, not the whole copy;
3. copies each snapshot with SQLite's online backup API (``sqlite3.Connection.backup``), checks
   it (``PRAGMA quick_check``), and renames the finished directory into place, so a DEST that
   exists is a complete backup.

DEST is laid out like a data directory (``store/…`` plus the generated ``secret_key``, so tokens
survive a restore) and is private to the user (0700/0600). Restoring is the README's procedure:
stop the server, put a copy of DEST where ``OKTOPUS_DATA_DIR`` points, start it.
"""

import argparse
import contextlib
import os
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from oktapi.settings import SECRET_KEY_FILE, Settings
from oktapi.storage import EMBEDDED_DIR, PRIVATE_FILE_MODE, make_private

SQLITE_SIDECARS = ("-wal", "-shm", "-journal")
# How long to wait for the server's current commit before giving up on the write locks.
LOCK_TIMEOUT_SECONDS = 10.0


class BackupError(RuntimeError):
    """The backup cannot be taken; the message says why and what to do."""


@dataclass(frozen=True)
class BackupSummary:
    destination: Path
    files: int
    size_bytes: int


def collection_files(store: Path) -> list[Path]:
    """The SQLite files of the store (one per collection), without their WAL/SHM sidecars."""
    return sorted(
        path
        for path in store.rglob("*")
        if path.is_file() and not path.name.endswith(SQLITE_SIDECARS)
    )


@contextlib.contextmanager
def _snapshots(files: list[Path]) -> Iterator[list[sqlite3.Connection]]:
    """One connection per file, each in a read transaction pinned at the same moment."""
    readers: list[sqlite3.Connection] = []
    writers: list[sqlite3.Connection] = []
    try:
        for path in files:
            writer = sqlite3.connect(path, timeout=LOCK_TIMEOUT_SECONDS, isolation_level=None)
            writers.append(writer)
            writer.execute("BEGIN IMMEDIATE")
        for path in files:
            reader = sqlite3.connect(path, timeout=LOCK_TIMEOUT_SECONDS, isolation_level=None)
            readers.append(reader)
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM sqlite_master").fetchone()  # starts the read
        for writer in writers:
            writer.execute("ROLLBACK")
            writer.close()
        writers.clear()
        yield readers
    except sqlite3.OperationalError as error:
        raise BackupError(f"could not read the store consistently: {error}") from None
    finally:
        for connection in writers + readers:
            connection.close()


def backup(settings: Settings, destination: Path) -> BackupSummary:
    """Write a consistent copy of the embedded store (and the generated key) to ``destination``."""
    if settings.mongo_url:
        raise BackupError(
            "OKTOPUS_MONGO_URL is set: this command backs up the embedded store only; back up "
            "MongoDB with mongodump (or your provider's snapshots)"
        )
    data_dir = settings.data_path
    store = data_dir / EMBEDDED_DIR
    files = collection_files(store) if store.is_dir() else []
    if not files:
        raise BackupError(f"there is no embedded store in {data_dir} (OKTOPUS_DATA_DIR)")
    destination = destination.expanduser().absolute()
    if destination.exists():
        raise BackupError(f"{destination} already exists: give a new directory")
    if destination == data_dir or data_dir in destination.parents:
        raise BackupError(f"{destination} is inside the data directory; put backups elsewhere")
    partial = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    make_private(partial)
    try:
        with _snapshots(files) as readers:
            for path, reader in zip(files, readers, strict=True):
                _copy(reader, partial / path.relative_to(data_dir))
        key = data_dir / SECRET_KEY_FILE
        if key.is_file():
            _write_private(partial / SECRET_KEY_FILE, key.read_bytes())
        make_private(partial)
        _fsync_tree(partial)
        partial.rename(destination)
        _fsync(destination.parent)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    size = sum(path.stat().st_size for path in destination.rglob("*") if path.is_file())
    return BackupSummary(destination=destination, files=len(files), size_bytes=size)


def _copy(reader: sqlite3.Connection, target: Path) -> None:
    """Copy one pinned snapshot with the online backup API and check what was written."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_private(target, b"")
    copy = sqlite3.connect(target)
    try:
        reader.backup(copy)
        verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
        copy.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        copy.close()
    if verdict != "ok":
        raise BackupError(f"the copy of {target.name} failed its integrity check: {verdict}")


def _write_private(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """Flush every file and directory of the backup before it is renamed into place."""
    for path in sorted(root.rglob("*"), reverse=True):
        _fsync(path)
    _fsync(root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m oktapi.backup",
        description="Copy the embedded store consistently, even while the server runs.",
    )
    parser.add_argument("destination", type=Path, help="a new directory to write the backup to")
    arguments = parser.parse_args(argv)
    try:
        summary = backup(Settings(), arguments.destination)
    except BackupError as error:
        print(f"backup failed: {error}", file=sys.stderr)
        return 1
    print(
        f"backed up {summary.files} collection files ({summary.size_bytes / 1e6:.1f} MB) to "
        f"{summary.destination}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
