"""A report import is applied whole or not at all while other requests post to the same timesteps.

Each round: a plan with timesteps 0-4 closed; a file that restates 2-4, closes 5-11 and reports
two campaigns of 12. Released at the same moment as the file: a full post of timestep 5 with
other numbers, a part of timestep 5, a restatement of timestep 3 with other numbers, and a part
of timestep 12 for the campaign the file leaves out. Whatever order the database settles them
in, the import answers 200, everything in the file is there afterwards, and every other request
was answered as if it came wholly before or wholly after it.
"""

import threading
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api.plans_support import client_with_campaigns, create_plan
from tests.api.racing import together

# The other requests start this long after the file, so that rounds land before the import's
# commit, during its finish and after it (an import of this file takes some 50-300 ms).
DELAYS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.4)
CLOSED_BEFORE = 5
LAST_CLOSED = 11  # the file closes 5..11 and reports part of 12


def _figures(timestep: int, campaign: int, *, other: bool = False) -> tuple[float, float, float]:
    """(spend, conversions, revenue) of the file, or of the racing requests (``other``)."""
    if other:
        return 2.0 + campaign, 9.0, 90.0
    return 1.0 + campaign + timestep / 100, float(campaign + 1), 10.0 * (campaign + 1)


def _file(names: list[str]) -> str:
    lines = ["timestep,campaign,spend,conversions,revenue"]
    for timestep in range(2, LAST_CLOSED + 2):
        campaigns = range(3) if timestep <= LAST_CLOSED else range(2)
        for campaign in campaigns:
            spend, conversions, revenue = _figures(timestep, campaign)
            lines.append(f"{timestep},{names[campaign]},{spend},{conversions},{revenue}")
    return "\n".join(lines) + "\n"


def _entries(ids: list[str], timestep: int, campaigns: range, *, other: bool) -> list[dict]:
    return [
        dict(
            zip(
                ("spend", "conversions", "revenue"), _figures(timestep, c, other=other), strict=True
            )
        )
        | {"campaign_id": ids[c]}
        for c in campaigns
    ]


def _history(client: TestClient, plan_id: str, headers: dict) -> dict[int, dict]:
    history = client.get(f"/plans/{plan_id}/history", headers=headers).json()
    return {entry["timestep"]: entry for entry in history["entries"] if entry["results"]}


def _numbers(rows: list[dict]) -> list[tuple[float, float, float]]:
    return [(row["spend"], row["conversions"], row["revenue"]) for row in rows]


@pytest.mark.parametrize("round_", range(len(DELAYS)))
def test_an_import_racing_posts_and_restatements_is_applied_whole(
    client: TestClient, db: Any, admin_headers: dict, round_: int
) -> None:
    client_id, ids = client_with_campaigns(db, 3)
    names = [f"Campaign {i}" for i in range(3)]
    plan = create_plan(
        client, admin_headers, client_id, ids, total_budget=30_000, timesteps=30, seed=round_
    )
    url = f"/plans/{plan['id']}"
    for timestep in range(CLOSED_BEFORE):
        body = {"timestep": timestep, "results": _entries(ids, timestep, range(3), other=True)}
        assert client.post(f"{url}/results", json=body, headers=admin_headers).status_code == 200
    content = _file(names).encode()
    csv_headers = {**admin_headers, "content-type": "text/csv"}
    post_5 = {"timestep": 5, "results": _entries(ids, 5, range(3), other=True)}
    part_5 = {"timestep": 5, "results": _entries(ids, 5, range(1), other=True)}
    restate_3 = {"results": _entries(ids, 3, range(3), other=True)}
    restate_3["results"][0]["spend"] = 1.5  # differs from what timestep 3 holds and from the file
    part_12 = {"timestep": 12, "results": _entries(ids, 12, range(2, 3), other=True)}
    answers: list[httpx.Response] = together(
        lambda: client.post(f"{url}/results/csv", content=content, headers=csv_headers),
        lambda: client.post(f"{url}/results", json=post_5, headers=admin_headers),
        lambda: client.post(f"{url}/results", json=part_5, headers=admin_headers),
        lambda: client.put(f"{url}/results/3", json=restate_3, headers=admin_headers),
        lambda: client.post(f"{url}/results", json=part_12, headers=admin_headers),
        stagger=DELAYS[round_],
    )
    imported, full_5, partial_5, restated_3, partial_12 = answers
    assert imported.status_code == 200, imported.text
    assert {a.status_code for a in answers} <= {200, 202, 409}, [a.text for a in answers]
    first_closed = CLOSED_BEFORE + (full_5.status_code == 200)  # the post may have closed 5
    assert imported.json()["closed"] == list(range(first_closed, LAST_CLOSED + 1))
    entries = _history(client, plan["id"], admin_headers)

    # Every timestep of the file holds the file's figures now (restated 2-4; 5 restated too if
    # the full post of 5 came first), except timestep 3 if the PUT came after the file.
    for timestep in range(2, LAST_CLOSED + 1):
        wanted = _numbers(_entries(ids, timestep, range(3), other=False))
        if timestep == 3 and _numbers(entries[3]["results"]) != wanted:
            assert restated_3.status_code == 200
            assert _numbers(entries[3]["results"]) == _numbers(restate_3["results"])
            continue
        assert _numbers(entries[timestep]["results"]) == wanted, timestep
    # The full post of 5 won timestep 5 (then the file restated it) or was refused after it.
    if full_5.status_code == 200:
        assert entries[5]["revision"] >= 1
    else:
        assert "already reported with different numbers" in full_5.text
    assert restated_3.status_code == 200, restated_3.text  # a restatement never loses
    assert partial_5.status_code in (200, 202, 409)

    after = client.get(url, headers=admin_headers).json()
    spent = sum(row["spend"] for entry in entries.values() for row in entry["results"])
    assert after["budget_spent"] == pytest.approx(spent)
    if partial_12.status_code in (
        200,
        202,
    ):  # after the file: with the file's two parts it closes 12
        assert after["timestep"] == 13
        assert _numbers(entries[12]["results"]) == _numbers(
            _entries(ids, 12, range(2), other=False) + part_12["results"]
        )
    else:
        assert "not open yet" in partial_12.text
        assert after["timestep"] == 12 and after["missing"] == [ids[2]]
    assert db["plans"].find_one({"_id": plan["id"]}).get("pending_import") is None
    assert db["plan_imports"].count_documents({"plan_id": plan["id"]}) == 0


def test_a_post_that_read_the_plan_before_the_commit_voids_the_batch_which_is_rebuilt(
    client: TestClient, db: Any, admin_headers: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The narrowest race, forced: right after the import's commit, a post that had read the plan
    before it records timestep 5 with other numbers. The batch finds timestep 5 taken, writes
    nothing, and is rebuilt on the plan as it is then: the file restates 5 and closes the rest."""
    from oktapi.repositories.imports import ImportRepository
    from oktapi.scope import Principal
    from oktapi.services import timesteps

    client_id, ids = client_with_campaigns(db, 3)
    plan = create_plan(client, admin_headers, client_id, ids, total_budget=30_000, timesteps=30)
    url = f"/plans/{plan['id']}"
    for timestep in range(CLOSED_BEFORE):
        body = {"timestep": timestep, "results": _entries(ids, timestep, range(3), other=True)}
        assert client.post(f"{url}/results", json=body, headers=admin_headers).status_code == 200
    admin = db["users"].find_one({"username": "root-admin"})
    principal = Principal(
        user_id=admin["_id"], username="root-admin", role="admin", client_ids=frozenset()
    )
    read_before = timesteps.load_plan(db, principal, plan["id"])
    commit = ImportRepository.commit
    commits = []

    def commit_then_lose_timestep_5(self: Any, *args: Any, **kwargs: Any) -> Any:
        committed = commit(self, *args, **kwargs)
        if not commits:
            timesteps.report_timestep(
                db=db,
                principal=principal,
                plan=read_before,
                timestep=5,
                part=_entries(ids, 5, range(3), other=True),  # not the file's numbers
            )
        commits.append(committed is not None)
        return committed

    monkeypatch.setattr(ImportRepository, "commit", commit_then_lose_timestep_5)
    answer = client.post(
        f"{url}/results/csv",
        content=_file([f"Campaign {i}" for i in range(3)]).encode(),
        headers={**admin_headers, "content-type": "text/csv"},
    )
    assert answer.status_code == 200, answer.text
    assert commits == [True, True]  # the first batch committed, turned void; the second applied
    assert answer.json()["restated"] == [2, 3, 4, 5]
    assert answer.json()["closed"] == list(range(6, LAST_CLOSED + 1))
    entries = _history(client, plan["id"], admin_headers)
    assert entries[5]["revision"] == 1
    for timestep in range(2, LAST_CLOSED + 1):
        wanted = _numbers(_entries(ids, timestep, range(3), other=False))
        assert _numbers(entries[timestep]["results"]) == wanted, timestep
    after = client.get(url, headers=admin_headers).json()
    spent = sum(row["spend"] for entry in entries.values() for row in entry["results"])
    assert after["budget_spent"] == pytest.approx(spent)
    assert db["plans"].find_one({"_id": plan["id"]}).get("pending_import") is None
    assert db["plan_imports"].count_documents({"plan_id": plan["id"]}) == 0


# --- a plan deleted while its import is applied ---------------------------------------------------

PLAN_RECORDS = ("plans", "plan_timesteps", "plan_results", "plan_restatements", "plan_imports")


def _left_of(db: Any, plan_id: str) -> dict[str, int]:
    """Documents of the plan still stored, by collection (the audit trail is meant to stay)."""
    counts = {}
    for collection in PLAN_RECORDS:
        key = "_id" if collection == "plans" else "plan_id"
        counts[collection] = db[collection].count_documents({key: plan_id})
    return counts


def test_a_plan_deleted_before_its_import_stores_figure_sets_leaves_no_record_behind(
    client: TestClient, db: Any, admin_headers: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch's close records are in, then the plan's deletion sweeps everything of it, then
    the batch stores the closed timesteps' figure sets: they are taken back, the answer is 404."""
    from oktapi.repositories.plans import PlanRepository
    from oktapi.repositories.results import ResultRepository
    from oktapi.scope import Principal

    client_id, ids = client_with_campaigns(db, 3)
    plan = create_plan(client, admin_headers, client_id, ids, total_budget=30_000, timesteps=30)
    admin = Principal(user_id="u-admin", username="root", role="admin", client_ids=frozenset())
    original = ResultRepository.insert_figure_sets

    def swept_first(self: ResultRepository, documents: list[dict]) -> None:
        PlanRepository(db).delete(admin, plan["id"])
        original(self, documents)

    monkeypatch.setattr(ResultRepository, "insert_figure_sets", swept_first)
    lines = ["timestep,campaign,spend,conversions,revenue"]
    lines += [
        f"{t},Campaign {c},{1.0 + c},{c + 1},{10.0 * (c + 1)}" for t in range(3) for c in range(3)
    ]
    answer = client.post(
        f"/plans/{plan['id']}/results/csv",
        content=("\n".join(lines) + "\n").encode(),
        headers={**admin_headers, "content-type": "text/csv"},
    )
    assert answer.status_code == 404, answer.text
    assert _left_of(db, plan["id"]) == dict.fromkeys(PLAN_RECORDS, 0)


# --- a part of a timestep the file closes ----------------------------------------------------------


def _admin(db: Any) -> Any:
    from oktapi.scope import Principal

    admin = db["users"].find_one({"username": "root-admin"})
    return Principal(
        user_id=admin["_id"], username="root-admin", role="admin", client_ids=frozenset()
    )


def _closing_file(timesteps: range, campaigns: range) -> bytes:
    lines = ["timestep,campaign,spend,conversions,revenue"]
    for timestep in timesteps:
        for campaign in campaigns:
            spend, conversions, revenue = _figures(timestep, campaign)
            lines.append(f"{timestep},Campaign {campaign},{spend},{conversions},{revenue}")
    return ("\n".join(lines) + "\n").encode()


def test_a_part_posted_after_the_commit_waits_for_the_file_and_is_refused_if_it_differs(
    client: TestClient, db: Any, admin_headers: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part of timestep 0 that read the plan before the import's commit is written just after
    it. It is not answered "waiting" and then replaced by the file's figures: it waits for the
    file and is answered from the file's record (other numbers: 409, restate it)."""
    from oktapi.repositories.imports import ImportRepository
    from oktapi.repositories.plans import PlanRepository
    from oktapi.services import timesteps

    client_id, ids = client_with_campaigns(db, 3)
    plan = create_plan(client, admin_headers, client_id, ids, total_budget=30_000, timesteps=30)
    principal = _admin(db)
    read_before = timesteps.load_plan(db, principal, plan["id"])
    part = _entries(ids, 0, range(1), other=True)
    answers: list[Any] = []
    written = threading.Event()
    add_part, commit = PlanRepository.add_part, ImportRepository.commit

    def part_written(self: PlanRepository, *args: Any) -> Any:
        try:
            return add_part(self, *args)
        finally:
            written.set()

    def post_part() -> None:
        try:
            answers.append(
                timesteps.report_timestep(
                    db=db, principal=principal, plan=read_before, timestep=0, part=part
                )
            )
        except Exception as error:  # the 409 a caller would get
            answers.append(error)

    racing = threading.Thread(target=post_part)

    def commit_then_part(self: ImportRepository, *args: Any, **kwargs: Any) -> Any:
        committed = commit(self, *args, **kwargs)
        if not racing.is_alive() and not answers:
            racing.start()
            assert written.wait(30)  # its write lands after the commit, before the finish
        return committed

    monkeypatch.setattr(PlanRepository, "add_part", part_written)
    monkeypatch.setattr(ImportRepository, "commit", commit_then_part)
    imported = client.post(
        f"/plans/{plan['id']}/results/csv",
        content=_closing_file(range(3), range(3)),
        headers={**admin_headers, "content-type": "text/csv"},
    )
    racing.join(60)
    assert imported.status_code == 200, imported.text
    assert imported.json()["closed"] == [0, 1, 2]
    entries = _history(client, plan["id"], admin_headers)
    assert _numbers(entries[0]["results"]) == _numbers(_entries(ids, 0, range(3), other=False))
    [answer] = answers
    assert "already reported with different numbers" in str(answer), answer


def test_a_part_replaced_before_the_commit_is_what_the_file_closes_the_timestep_with(
    client: TestClient, db: Any, admin_headers: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Campaign 0's part of timestep 0 is posted, then a file reports the two other campaigns of
    timestep 0 and closes 1-2. Between the file's check and its commit, campaign 0's part is
    posted again with other figures (answered "waiting"): timestep 0 closes with those."""
    from oktapi.repositories.imports import ImportRepository
    from oktapi.services import timesteps

    client_id, ids = client_with_campaigns(db, 3)
    plan = create_plan(client, admin_headers, client_id, ids, total_budget=30_000, timesteps=30)
    url = f"/plans/{plan['id']}"
    first = {"timestep": 0, "results": _entries(ids, 0, range(1), other=False)}
    assert client.post(f"{url}/results", json=first, headers=admin_headers).status_code == 202
    replaced = _entries(ids, 0, range(1), other=True)
    principal = _admin(db)
    commit = ImportRepository.commit
    answers: list[Any] = []

    def part_then_commit(self: ImportRepository, *args: Any, **kwargs: Any) -> Any:
        if not answers:
            fresh = timesteps.load_plan(db, principal, plan["id"])
            answers.append(
                timesteps.report_timestep(
                    db=db, principal=principal, plan=fresh, timestep=0, part=replaced
                )
            )
        return commit(self, *args, **kwargs)

    monkeypatch.setattr(ImportRepository, "commit", part_then_commit)
    lines = _closing_file(range(1, 3), range(3)).decode().splitlines()
    lines[1:1] = _closing_file(range(1), range(1, 3)).decode().splitlines()[1:]
    imported = client.post(
        f"{url}/results/csv",
        content=("\n".join(lines) + "\n").encode(),
        headers={**admin_headers, "content-type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    assert answers[0].status == "waiting"
    assert imported.json()["closed"] == [0, 1, 2]
    entries = _history(client, plan["id"], admin_headers)
    wanted = _entries(ids, 0, range(3), other=False)
    wanted[0] = replaced[0]
    assert _numbers(entries[0]["results"]) == _numbers(wanted)
