"""Writes to many documents at once (one commit on the embedded store): the same documents end up
stored as with one write per document, a refused document leaves the others, and each write is
there after the store is closed and opened again."""

from pathlib import Path
from typing import Any

import pytest
from pymongo.errors import BulkWriteError

from oktapi.storage import Storage, open_storage
from tests.conftest import BACKENDS, make_settings


@pytest.mark.parametrize("backend", BACKENDS)
def test_many_document_writes_keep_every_document_they_wrote(backend: str, tmp_path: Path) -> None:
    settings = make_settings(backend, tmp_path / "data")
    opened: list[Storage] = [open_storage(settings)]

    def stored() -> dict[Any, Any]:
        """What the store holds, read back from its files on the embedded store."""
        if backend == "embedded":
            opened[0].close()
            opened[0] = open_storage(settings)
        return {doc["_id"]: doc["n"] for doc in opened[0].db["things"].find({})}

    try:
        opened[0].db["things"].insert_one({"_id": 25, "n": -1})
        with pytest.raises(BulkWriteError) as refused:
            opened[0].db["things"].insert_many(
                [{"_id": i, "n": i} for i in range(50)], ordered=False
            )
        assert len(refused.value.details["writeErrors"]) == 1  # only the one already there
        assert stored() == {i: -1 if i == 25 else i for i in range(50)}
        opened[0].db["things"].update_many({"_id": {"$lt": 10}}, {"$set": {"n": 100}})
        assert stored()[3] == 100
        opened[0].db["things"].delete_many({"_id": {"$gte": 40}})
        assert sorted(stored()) == list(range(40))
    finally:
        opened[0].close()
