"""How long GET /audit takes with a big log: the first page, newest first, as an admin sees it.

Fills the embedded store (a fresh temporary data directory) with N entries, one a minute up to
now, over 50 clients and 500 plans, then times five requests per listing and prints medians.

    .venv/bin/python scripts/audit_listing.py --entries 20000
"""

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from oktapi.app import create_app  # noqa: E402
from oktapi.security import create_access_token, hash_password  # noqa: E402
from oktapi.settings import Settings  # noqa: E402

SECRET = "audit-listing-script-secret-key-that-is-long-enough-0123"
BATCH = 5000


def _entry(index: int, at: datetime) -> dict:
    return {
        "_id": f"{int(at.timestamp() * 1e9):016x}{uuid.uuid4().hex[:16]}",
        "at": at,
        "day": at.date().isoformat(),
        "user_id": "script",
        "username": "script",
        "action": "plan.results_accepted",
        "client_id": f"client-{index % 50}",
        "plan_id": f"plan-{index % 500}",
        "target_id": None,
        "changes": {"timestep": index, "spend": 100.0},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oktopus-audit-") as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp) / "data", secret_key=SECRET)
        with TestClient(create_app(settings)) as client:
            db = client.app.state.storage.db
            now = datetime.now(UTC)
            db["users"].insert_one(
                {
                    "_id": "admin",
                    "username": "admin",
                    "password_hash": hash_password("audit-listing-password"),
                    "role": "admin",
                    "client_ids": [],
                    "disabled": False,
                    "token_version": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            token = create_access_token(subject="admin", token_version=0, secret=SECRET, minutes=60)
            headers = {"Authorization": f"Bearer {token}"}
            started = time.perf_counter()
            first = now - timedelta(minutes=arguments.entries)
            for start in range(0, arguments.entries, BATCH):
                stop = min(start + BATCH, arguments.entries)
                db["audit"].insert_many(
                    [_entry(i, first + timedelta(minutes=i)) for i in range(start, stop)]
                )
            print(f"{arguments.entries} entries stored in {time.perf_counter() - started:.0f} s")
            for label, params in (
                ("admin, first page", {}),
                ("admin, page at offset 1000", {"offset": 1000}),
                ("filtered by client_id", {"client_id": "client-3"}),
                ("filtered by plan_id", {"plan_id": "plan-7"}),
            ):
                durations = []
                for _ in range(5):
                    begun = time.perf_counter()
                    response = client.get("/audit", params=params, headers=headers)
                    durations.append(time.perf_counter() - begun)
                    response.raise_for_status()
                print(
                    f"GET /audit {label}: median {statistics.median(durations) * 1000:.1f} ms "
                    f"({len(response.json())} entries)"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
