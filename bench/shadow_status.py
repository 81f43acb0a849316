"""Bench: `/rules shadow status` over the requests reviewed while candidate rules ran in shadow.

Its own embedded dev server and one `purchasebot worker` process (demo mode). Candidate rules
are put in shadow (IT `max_amount` 1000 -> 20), then Alice files her 39.90 book N times, 50 at
a time; each is reviewed by both (the rules in force auto-approve, the candidate would send it to
a person) and completes. Measured once all are closed, in alternating rounds: the status figures
as Slack and the API compute them (`bot.insight.shadow.ShadowSource.figures`: one visibility
listing, then each request's history), against a floor: the same listing alone, rows iterated.

    .venv/bin/python -m bench.shadow_status [--requests 500] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from pathlib import Path

from appconfig.files import ReloadingFile
from bench.support import REPO, demo_env, dev_server, enable_auto_approvals, start_process
from bot.insight.shadow import ShadowSource, shadow_query
from bot.purchase_service import PurchaseService
from bot.rules_admin import RulesAdmin, load_initial_rules
from bot.temporal_client import connect
from domain.directory import Directory

BOOK_URL = "https://www.amazon.es/dp/1449373321"  # 39.90 EUR, books
AT_ONCE = 50


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def main(requests: int, rounds: int) -> None:
    print(f"load average at start: {_load()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        async with AsyncExitStack() as stack:
            server = await stack.enter_async_context(dev_server(data))
            suffix = uuid.uuid4().hex[:6]
            control, queue = f"bench-control-{suffix}", f"bench-{suffix}"
            env = demo_env(server.address, data, queue, control)
            start_process("worker", env, stack)
            client = await connect(server.address, wait_seconds=30)
            await enable_auto_approvals(client, control)
            rules = RulesAdmin(client, control, initial=load_initial_rules(REPO / "rules.yaml"))
            await rules.ensure()
            started = await rules.set_shadow_field(
                "IT", "max_amount", "20", author="bench", reason="", people_departments=[]
            )
            candidate = started.candidate
            assert candidate is not None
            service = PurchaseService(
                client, ReloadingFile(REPO / "directory.yaml", Directory), task_queue=queue
            )
            began = time.monotonic()
            for first in range(0, requests, AT_ONCE):
                batch = range(first, min(first + AT_ONCE, requests))
                filed = await asyncio.gather(
                    *(
                        service.submit(requester="UALICE", url=BOOK_URL, amount="39.90")
                        for _ in batch
                    )
                )
                await asyncio.gather(
                    *(service.outcome(f.request.request_id, wait_seconds=120) for f in filed)
                )
            print(f"{requests} requests filed and closed in {time.monotonic() - began:.0f} s")
            source = ShadowSource(client)
            query = shadow_query(candidate)

            async def listing() -> int:
                return len([e async for e in client.list_workflows(query)])

            for _ in range(120):  # visibility catches up with the last closes (<= 60 s)
                if await listing() >= requests:
                    break
                await asyncio.sleep(0.5)
            status_times: list[float] = []
            floor_times: list[float] = []
            figures = None
            for _ in range(rounds):
                t0 = time.perf_counter()
                figures = await source.figures(candidate)
                status_times.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                await listing()
                floor_times.append(time.perf_counter() - t0)
            assert figures is not None
            status, floor = statistics.median(status_times), statistics.median(floor_times)
            print(
                f"shadow status over {figures.compared} requests (agree with the rules in force "
                f"{figures.agree_with_active}, candidate would auto-approve "
                f"{figures.shadow_would_auto_approve}): median {status * 1000:.0f} ms, max "
                f"{max(status_times) * 1000:.0f} ms; floor (the listing alone) median "
                f"{floor * 1000:.0f} ms; per request {status / max(1, figures.compared) * 1000:.1f}"
                f" ms; load average at end: {_load()}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))
