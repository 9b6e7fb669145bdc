"""The only module that knows which backend stores the documents.

Three backends answer the same pymongo API:
- ``mongodb://`` / ``mongodb+srv://``: a real MongoDB through pymongo (production, many workers);
- unset: the embedded litemongo store (SQLite files) in the data directory, one process only;
- ``memory://``: one shared in-memory mongomock client, for tests.

litemongo and mongomock are neither thread-safe nor multi-process safe, so every operation on
them runs on one thread that owns the client (cursors are read to the end there), and the
embedded store holds an exclusive lock file so that a second process fails loudly.
"""

import fcntl
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pymongo
from pymongo.database import Database

from oktapi.settings import Settings

LOCK_FILE = "oktopus.lock"
EMBEDDED_DIR = "store"


class StoreLockedError(RuntimeError):
    """A second process tried to open the embedded store."""


class Storage:
    """An open database plus what is needed to close it cleanly."""

    def __init__(self, db: Database, backend: str, close: Callable[[], None]) -> None:
        self.db = db
        self.backend = backend
        self._close = close

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
    return Storage(_SerialDatabase(client[db_name], owner), "memory", owner.shutdown)


def drop_memory_store(url: str) -> None:
    """Forget an in-memory store (tests use one URL per test)."""
    with _memory_lock:
        _memory_clients.pop(url, None)


# --- embedded (default) ----------------------------------------------------------------------


def _embedded_storage(data_dir: Path, db_name: str) -> Storage:
    data_dir.mkdir(parents=True, exist_ok=True)
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

    return Storage(_SerialDatabase(client[db_name], owner), "embedded", close)


def _connect_litemongo(path: Path) -> Any:
    import litemongo

    return litemongo.connect(str(path.absolute()), tz_aware=True)


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


class _SerialCollection:
    """A collection whose every method runs on the owner thread."""

    def __init__(self, collection: Any, owner: _OwnerThread) -> None:
        self._collection = collection
        self._owner = owner
        self.name = collection.name

    def __getattr__(self, attribute: str) -> Any:
        target = getattr(self._collection, attribute)
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


_DATABASE_METHODS = frozenset(
    {"list_collection_names", "command", "drop_collection", "create_collection", "get_collection"}
)
