"""`python -m demo.seed URL DROP`: the demo's first cases and approved applications, filed and
approved through the API as users would (every step logged), so a new user who signs in to the
web UI finds an application to pick in the page header.

- demo.investigator: a 初核 case over every source of the demo's province, subject-free;
- demo.special_task: a 专项整治 case over petitions, officials and companies, with export;
- demo.analyst: a case naming the first planted control chain's official and a company the
  relative controls (the graph page starts from a subject of the application), with export.

Each is approved by demo.approver. The accounts' password is read from standard input. A second
run files nothing for an account that already has a case (the demo's store is kept across runs).
Only HTTP: the generator's package imports nothing of the service.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from common.vocab import Source
from demo.drop import TRUTH_FILE

REGION = "46"  # the demo's province (海南)
APPROVER = "demo.approver"
TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class DemoFiling:
    """One account's case and the application filed under it."""

    account: str
    case_no: str
    title: str
    purpose: str
    category: str
    sources: tuple[str, ...]
    export: bool = False
    subjects: tuple[dict[str, str], ...] = field(default_factory=tuple)


class SeedError(RuntimeError):
    """The API refused a step of the seeding (the message names the step and the answer)."""


def demo_filings(truth: dict[str, Any]) -> list[DemoFiling]:
    """The filings of the demo accounts, the analyst's subjects taken from ``truth``."""
    every = tuple(str(s) for s in Source)
    chain = truth["control_chains"][0]
    company = next(e["key"] for e in chain["entities"] if e["kind"] == "company")
    return [
        DemoFiling("demo.investigator", "演示-初核-001", "演示：公职人员经商办企业问题线索初核",
                   "核查举报反映的公职人员违规经商办企业问题线索", "初核", every),
        DemoFiling("demo.special_task", "演示-专项-001", "演示：粮食购销领域腐败问题专项整治",
                   "汇总各层级信访线索，开展专项整治", "专项整治",
                   ("petition", "official", "company"), export=True),
        DemoFiling("demo.analyst", "演示-图谱-001", "演示：公职人员亲属控制企业关系核查",
                   "核查公职人员配偶子女经营企业及关联关系", "初核", every, export=True,
                   subjects=({"kind": "person_id", "value": chain["official_id"]},
                             {"kind": "credit_code", "value": company})),
    ]  # fmt: skip


def _call(
    client: httpx.Client, method: str, path: str, token: str | None, body: Any, step: str
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = client.request(method, path, json=body, headers=headers)
    if answer.status_code >= 400:
        raise SeedError(f"{step}: {answer.status_code} {answer.text[:300]}")
    return answer.json()


def log_in(client: httpx.Client, account: str, password: str) -> str:
    body = {"username": account, "password": password}
    answer = _call(client, "POST", "/auth/token", None, body, f"sign in as {account}")
    return str(answer["access_token"])


def seed_demo(client: httpx.Client, truth: dict[str, Any], password: str) -> list[int]:
    """File and approve each demo filing whose account has no case yet; the new applications'
    ids."""
    approver = log_in(client, APPROVER, password)
    filed: list[int] = []
    for filing in demo_filings(truth):
        token = log_in(client, filing.account, password)
        if _call(client, "GET", "/cases", token, None, f"{filing.account}: list cases"):
            continue
        case = _call(client, "POST", "/cases", token,
                     {"case_no": filing.case_no, "title": filing.title},
                     f"{filing.account}: open case")  # fmt: skip
        body = {
            "case_id": case["id"], "purpose": filing.purpose, "category": filing.category,
            "sources": list(filing.sources), "regions": [REGION], "export": filing.export,
            "subjects": list(filing.subjects), "valid_days": 90,
        }  # fmt: skip
        application = _call(client, "POST", "/applications", token, body,
                            f"{filing.account}: file application")  # fmt: skip
        _call(client, "POST", f"/applications/{application['id']}/decision", approver,
              {"approve": True, "note": "演示数据：同意"}, f"{APPROVER}: approve")  # fmt: skip
        filed.append(int(application["id"]))
    return filed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demo.seed", description=__doc__.splitlines()[0]
    )
    parser.add_argument("url", help="the running API, e.g. http://127.0.0.1:8088")
    parser.add_argument("drop", help="the demo drop (its _truth.json names the analyst's subjects)")
    args = parser.parse_args(argv)
    password = sys.stdin.readline().rstrip("\n")
    truth = json.loads((Path(args.drop) / TRUTH_FILE).read_text(encoding="utf-8"))
    try:
        with httpx.Client(base_url=args.url, timeout=TIMEOUT_S) as client:
            filed = seed_demo(client, truth, password)
    except (SeedError, httpx.HTTPError) as exc:
        parser.exit(1, f"python -m demo.seed: {exc}\n")
    print(json.dumps({"approved_applications": filed}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
