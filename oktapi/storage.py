"""The only module that knows which backend stores the documents.

Three backends answer the same pymongo API:
- ``mongodb://`` / ``mongodb+srv://``: a real MongoDB through pymongo (production, many workers);
- unset: the embedded litemongo store (SQLite files) in the data directory, one process only;
- ``memory://``: one shared in-memory mongomock client, for tests.

litemongo and mongomock are neither thread-safe nor multi-process safe, so every operation on
them runs on one thread that owns the client (cursors are read to the end there), and the
embedded store holds an exclusive lock file so that a second process fails loudly.

The data directory holds password hashes and the signing key: it is private to the service's
user (directories 0700, files 0600, created so and checked at every start), and the embedded
store fsyncs every commit (``synchronous=FULL``) so an acknowledged write survives a power cut.
A write to many documents (``insert_many``, ``update_many``, ``delete_many``) is one commit
there, not one per document (a 20,000-document insert took 30 s of fsyncs); like MongoDB's, such
a write is not atomic to its callers, who redo it after a crash.
"""

import contextlib
import fcntl
import logging
import os
import stat
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import pymongo
from pymongo.database import Database

from oktapi.settings import Settings

logger = logging.getLogger(__name__)

LOCK_FILE = "oktopus.lock"
EMBEDDED_DIR = "store"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


class StoreLockedError(RuntimeError):
    """A second process tried to open the embedded store."""


class Storage:
    """An open database plus what is needed to close it cleanly."""

    def __init__(self, db: Database, backend: str, close: Callable[[], None]) -> None:
        self.db = db
        self.backend = backend
        self._close = close

    @property
    def expires_documents(self) -> bool:
        """Whether TTL indexes work here: MongoDB expires in the background, while mongomock and
        litemongo would scan the whole collection on every read, so they are swept instead."""
        return self.backend == "mongodb"

    def close(self) -> None:
        self._close()


def open_storage(settings: Settings) -> Storage:
    """Connect to the backend that the settings name."""
    url = settings.mongo_url
    if url and url.startswith("mongodb"):
        client: pymongo.MongoClient = pymongo.MongoClient(
            url, tz_aware=True, uuidRepresentation="standard"
        )
        return Storage(client[settings.mongo_db], "mongodb", client.close)
    if url and url.startswith("memory://"):
        return _memory_storage(url, settings.mongo_db)
    return _embedded_storage(settings.data_path, settings.mongo_db)


# --- memory (tests) --------------------------------------------------------------------------

_memory_clients: dict[str, Any] = {}
_memory_lock = threading.Lock()


def _memory_storage(url: str, db_name: str) -> Storage:
    import mongomock

    with _memory_lock:
        client = _memory_clients.setdefault(url, mongomock.MongoClient(tz_aware=True))
    owner = _OwnerThread("mongomock")
    return Storage(_serial(client[db_name], owner), "memory", owner.shutdown)


def drop_memory_store(url: str) -> None:
    """Forget an in-memory store (tests use one URL per test)."""
    with _memory_lock:
        _memory_clients.pop(url, None)


# --- embedded (default) ----------------------------------------------------------------------


def make_private(data_dir: Path) -> list[Path]:
    """Create the data directory 0700 if needed, then tighten anything group/world can reach.

    Returns what had to be fixed (an install from before this check, a copy made with cp -r).
    """
    data_dir.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    fixed: list[Path] = []
    for path in [data_dir, *data_dir.rglob("*")]:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            continue
        wanted = PRIVATE_DIR_MODE if stat.S_ISDIR(info.st_mode) else PRIVATE_FILE_MODE
        if stat.S_IMODE(info.st_mode) & ~wanted:
            path.chmod(stat.S_IMODE(info.st_mode) & wanted)
            fixed.append(path)
    if fixed:
        logger.warning(
            "%d path(s) in %s were readable by other users; made them private to this user: %s",
            len(fixed),
            data_dir,
            ", ".join(str(path.relative_to(data_dir)) or "." for path in fixed[:10]),
        )
    return fixed


def _embedded_storage(data_dir: Path, db_name: str) -> Storage:
    make_private(data_dir)
    lock_fd = _acquire_lock(data_dir / LOCK_FILE)
    owner = _OwnerThread("litemongo")
    try:
        client = owner.run(lambda: _connect_litemongo(data_dir / EMBEDDED_DIR))
    except BaseException:
        owner.shutdown()
        os.close(lock_fd)
        raise

    def close() -> None:
        try:
            owner.run(client.close)
        finally:
            owner.shutdown()
            os.close(lock_fd)  # releases the flock

    return Storage(_serial(client[db_name], owner), "embedded", close)


def _connect_litemongo(path: Path) -> Any:
    import litemongo

    return litemongo.MongoClient(_private_durable_store(path.absolute()), tz_aware=True)


def _private_durable_store(path: Path) -> Any:
    """litemongo's SQLite store, with private directories and files and every commit fsynced.

    litemongo creates its directories and files with the process umask (0755/0644) and opens
    each collection with ``synchronous=NORMAL``; these subclasses create each file 0600 before
    SQLite opens it (SQLite gives its -wal and -shm files the database file's mode) and switch
    every connection to ``FULL``.
    """
    from litemongo import sqlite_store

    class Collection(sqlite_store.CollectionStore):
        def open(self) -> None:
            os.close(os.open(self._path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE))
            super().open()
            self._connection.execute("PRAGMA synchronous=FULL")

        @contextlib.contextmanager
        def one_commit(self) -> Iterator[None]:
            """Document writes inside share one transaction, committed (fsynced) at the end.

            litemongo commits each document in a ``with connection:`` block; its table is
            handed a connection whose block does not commit, and the real one commits once.
            """
            table = self._documents
            connection = table._connection
            table._connection = _DeferredCommit(connection)
            try:
                yield
            finally:
                table._connection = connection
                connection.commit()

    class Database(sqlite_store.DatabaseStore):
        def __init__(self, path: Path, codec_options: Any = None) -> None:
            path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
            super().__init__(path, codec_options)

        def __getitem__(self, name: str) -> Any:
            if name not in self._collections:
                self._collections[name] = Collection(
                    self._dirpath / name, codec_options=self._codec_options
                )
            return self._collections[name]

    class Server(sqlite_store.ServerStore):
        def __init__(self, path: Path) -> None:
            path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
            super().__init__(path)

        def __getitem__(self, name: str) -> Any:
            if name not in self._databases:
                self._databases[name] = Database(self._dirpath / name)
            return self._databases[name]

    return Server(path)


class _DeferredCommit:
    """A sqlite3 connection whose ``with`` block leaves the transaction open (``one_commit``)."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def __enter__(self) -> Any:
        return self._connection

    def __exit__(self, *exc_info: object) -> None:
        return None

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._connection, attribute)


def _acquire_lock(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreLockedError(
            f"the embedded store in {path.parent} is already open in another process: "
            "the embedded store serves one process; set OKTOPUS_MONGO_URL to use MongoDB"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


# --- serialising proxies ---------------------------------------------------------------------


class _OwnerThread:
    """One thread that performs every operation on a non-thread-safe client."""

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"oktopus-{name}")

    def run(self, operation: Callable[[], Any]) -> Any:
        return self._executor.submit(operation).result()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)


def _materialise(value: Any) -> Any:
    """Read cursors to the end on the owner thread; callers get a plain list."""
    if hasattr(value, "__next__") and not isinstance(value, dict):
        return list(value)
    return value


def _on_owner(owner: _OwnerThread, method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a client method so it runs, cursors included, on the owner thread."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return owner.run(lambda: _materialise(method(*args, **kwargs)))

    return call


MANY_DOCUMENT_WRITES = frozenset({"insert_many", "update_many", "delete_many"})


def _in_one_commit(collection: Any, method: Callable[..., Any]) -> Callable[..., Any]:
    """Run a write to many documents in one commit where the store can (the embedded one)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        one_commit = getattr(getattr(collection, "_store", None), "one_commit", None)
        if one_commit is None:
            return method(*args, **kwargs)
        with one_commit():
            return method(*args, **kwargs)

    return call


class _SerialCollection:
    """A collection whose every method runs on the owner thread."""

    def __init__(self, collection: Any, owner: _OwnerThread) -> None:
        self._collection = collection
        self._owner = owner
        self.name = collection.name

    def __getattr__(self, attribute: str) -> Any:
        target = getattr(self._collection, attribute)
        if attribute in MANY_DOCUMENT_WRITES:
            target = _in_one_commit(self._collection, target)
        return _on_owner(self._owner, target) if callable(target) else target


class _SerialDatabase:
    """A database handing out serialised collections; repositories use it like pymongo's."""

    def __init__(self, database: Any, owner: _OwnerThread) -> None:
        self._database = database
        self._owner = owner
        self._collections: dict[str, _SerialCollection] = {}
        self.name = database.name

    def __getitem__(self, name: str) -> _SerialCollection:
        if name not in self._collections:
            self._collections[name] = _SerialCollection(self._database[name], self._owner)
        return self._collections[name]

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        if attribute not in _DATABASE_METHODS:
            return self[attribute]
        return _on_owner(self._owner, getattr(self._database, attribute))


def _serial(database: Any, owner: _OwnerThread) -> Database:
    """The proxy, typed as what it stands for: it answers pymongo's Database API by delegation
    (the repositories use only item access and the methods below), not by inheritance."""
    return cast(Database, _SerialDatabase(database, owner))


_DATABASE_METHODS = frozenset(
    {"list_collection_names", "command", "drop_collection", "create_collection", "get_collection"}
)
