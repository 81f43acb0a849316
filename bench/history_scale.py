"""Requester history at company scale: 1,000,000 imported records for 100,000 employees and
100,000 closed requests, against the same installation with an empty history, in one run.

- review step: the automated review as a worker runs it (`AutomatedReviewActivities.
  automated_review`, the activity itself: the live rules and the requester's history read at
  once, then the rules applied), median and p99 over many requesters, empty vs full: <= 1.2x.
  The history reads alone (the shard and the two own-outcome counts) are shown beside it, and
  the review of ONE requester who has 1,000 closed requests of their own (shown, no target: what
  the product's heaviest users cost). The shard cache: a worker's warm cache is
  the target (what a worker serves once it has read each shard's current run); a cold one (each
  read a different shard: the worst case) is shown for comparison;
- auto-approved path end to end (a request filed to its auto-approval, one at a time) against
  the floor of `bench.workflow_latency` (the cheapest workflow with as many steps, on the same
  server, samples interleaved), at the full scale: median <= 1.0x. Empty vs full is shown too;
- import: `purchasebot history import` of the generated 1,000,000-row CSV, as a process:
  <= 5 minutes; then the same file again (idempotent: nothing added);
- memory: the bot's and the worker's RSS (peak) once everything is loaded: <= 200 MB each.

Closed requests are copies of the visibility row the server wrote for one real closed request,
inserted into the dev server's visibility table (`bench/closed_requests.py` says why and how):
exactly what the review's own-outcome counts read. Running 100,000 requests through the
product would take hours on this machine, and starting them one by one ran at 20-28/s.

One embedded dev server on a SQLite file (the setup of `make run`), `purchasebot bot` and
`purchasebot worker` processes as deployed, the local Slack workspace. The data is generated
into a temporary directory and deleted.
`.venv/bin/python -m bench.history_scale [--rows 1000000] [--employees 100000] [--closed 100000]`
Each target's line ends with PASS or MISS; a summary of them all closes the output.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities.automated_review import AutomatedReviewActivities
from activities.review_rules_source import LiveRules
from activities.user_history import UserHistorySource
from appconfig.files import ReloadingFile
from appconfig.settings import Settings
from bench.closed_requests import closed_template, insert_closed_requests
from bench.floor_workflow import FloorWorkflow, floor_step
from bench.support import (
    PURCHASEBOT,
    REPO,
    enable_auto_approvals,
    printed,
    start_installation,
)
from bench.workflow_latency import FLOOR_QUEUE, floor_runner, steps_of
from bot.purchase_service import PurchaseService
from bot.worker import build_worker
from domain.directory import Directory
from domain.history_shards import HISTORY_SHARDS, SHARD_WORKFLOW_ID_PREFIX, shard_of
from domain.models import AutomatedReviewInput, Money, ProductInfo, PurchaseRequest, PurchaseStatus
from domain.percentiles import nearest_rank
from entities.history_store import (
    REFRESH_EVERY_SECONDS,
    REFRESHED,
    REFRESHING,
    HistoryStore,
)

BOOK = ("https://www.amazon.es/dp/1449373321", "39.90")
BOOK_INFO = ProductInfo(
    asin="1449373321",
    title="Designing Data-Intensive Applications",
    category="books",
    unit_price=Money(amount=Decimal(BOOK[1])),
    vendor="amazon.es",
    url=BOOK[0],
)
REVIEW_SAMPLES = 600
PATH_SAMPLES = 30
# Closed requests are added in steps, the review's own-outcome read measured after each.
CLOSED_STEP = 20_000
OWN_SAMPLES_PER_STEP = 100
# One requester who uses the product a lot: this many closed requests of their own.
HEAVY_REQUESTS = 1_000
REVIEW_RATIO_TARGET = 1.2
PATH_RATIO_TARGET = 1.0
IMPORT_TARGET_SECONDS = 300.0
RSS_TARGET_MB = 200.0


def write_csv(path: Path, rows: int, employees: int) -> None:
    """A year of history: `rows` records spread over `employees`, ~10 % rejected."""
    rng = random.Random(10)
    start_day = datetime.now(UTC).date() - timedelta(days=365)
    days = [(start_day + timedelta(days=d)).isoformat() for d in range(365)]
    with path.open("w", encoding="utf-8") as f:
        f.write("employee_id,date,amount,outcome\n")
        for i in range(rows):
            outcome = "rejected" if rng.random() < 0.1 else "completed"
            f.write(
                f"E{i % employees:06d},{days[rng.randrange(365)]},"
                f"{rng.randrange(5, 2000)}.{i % 100:02d} EUR,{outcome}\n"
            )


async def timed(samples: int, step: Callable[[int], Awaitable[object]]) -> list[float]:
    out = []
    for n in range(samples):
        began = time.perf_counter()
        await step(n)
        out.append((time.perf_counter() - began) * 1000)
    return out


def stats(ms: list[float]) -> tuple[float, float]:
    return nearest_rank(ms, 0.5), nearest_rank(ms, 0.99)


def say(text: str) -> None:
    print(text, flush=True)


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


async def close_requests(
    client: Client,
    db_file: Path,
    first: int,
    count: int,
    employees: int,
    requester: str | None = None,
) -> float:
    """Closed requests `first` to `first + count - 1` in visibility (see bench/closed_requests.py);
    returns how long it took. Raises when the server's own count does not see them."""
    began = time.monotonic()
    template = await closed_template(client, db_file)
    await asyncio.to_thread(
        insert_closed_requests, db_file, template, first, count, employees, requester
    )
    closed = "WorkflowId STARTS_WITH 'bench-closed-' AND ExecutionStatus != 'Running'"
    seen = (await client.count_workflows(closed)).count
    if seen != first + count:
        raise RuntimeError(f"the server counts {seen} closed bench requests, not {first + count}")
    return time.monotonic() - began


class Probe:
    """The measurements taken twice: with an empty history, then with the full one."""

    def __init__(self, client: Client, settings: Settings, employees: int) -> None:
        self.settings = settings
        self.client = client
        self.store = self.new_store(cold=False)
        self.history = UserHistorySource(client, self.store)
        directory = ReloadingFile(settings.directory, Directory)
        self.service = PurchaseService(client, directory, task_queue=settings.task_queue)
        self.employees = employees
        self.not_auto_approved = 0
        # An installation with no history at all: a store whose shards were never created.
        self.no_shards = HistoryStore(client, settings.control_task_queue, "bench-no-history-")
        self.nothing = UserHistorySource(client, self.no_shards)

    async def know_every_shard_is_empty(self) -> None:
        """What a worker of an installation without history knows once its reviews have
        touched every shard: each does not exist (cached, confirmed, no call per review). The
        full store's worker knows the same of its shards after `warm()`."""
        await self.no_shards.warm()  # follows the (empty) change feed: what it caches is trusted
        seen: set[int] = set()
        n = 0
        while len(seen) < HISTORY_SHARDS:
            batch = [f"N{m:06d}" for m in range(n, n + 200)]
            n += 200
            await asyncio.gather(
                *(self.nothing.user_history(e, now=datetime.now(UTC)) for e in batch)
            )
            seen.update(shard_of(e) for e in batch)

    def new_store(self, *, cold: bool) -> HistoryStore:
        """The store as a worker has it, with a cache of its own: `cold` never fills it in the
        background, so every read of a shard not read before misses."""
        return HistoryStore(
            self.client,
            self.settings.control_task_queue,
            SHARD_WORKFLOW_ID_PREFIX,
            refresh_every_seconds=None if cold else REFRESH_EVERY_SECONDS,
        )

    def reviewer(self, history: UserHistorySource) -> Callable[[str], Awaitable[object]]:
        """The review step as a worker runs it: the `automated_review` activity itself, with
        the live rules and `history`, for one requester."""
        review = AutomatedReviewActivities(LiveRules(self.client), history)
        activity = ActivityEnvironment()

        async def step(employee: str) -> object:
            return await activity.run(review.automated_review, review_input(employee))

        return step

    def history_reader(self, history: UserHistorySource) -> Callable[[str], Awaitable[object]]:
        """The history part of the review alone (the shard and the own-outcome counts)."""

        async def read(employee: str) -> object:
            return await history.user_history(employee, now=datetime.now(UTC))

        return read

    async def samples(self, of: Callable[[str], Awaitable[object]]) -> list[float]:
        """`of` for random requesters of this installation, one after another."""
        rng = random.Random(12)

        async def one(_: int) -> object:
            return await of(f"E{rng.randrange(self.employees):06d}")

        await timed(20, one)  # warm
        return await timed(REVIEW_SAMPLES, one)

    async def paired(
        self,
        full: Callable[[UserHistorySource], Callable[[str], Awaitable[object]]],
        requester: str | None = None,
    ) -> tuple[list[float], list[float]]:
        """The same step with this installation's history and with none at all, one after the
        other (the order swapped every other sample), on the same server at the same moments:
        the history's own cost, free of the load's drift between the empty phase and now.
        "Full" is a random requester of this installation (or `requester`); "empty" a requester
        nobody has heard of, read through a store whose shards were never created: no imported
        record and no closed request."""
        rng = random.Random(15)
        with_history, without = full(self.history), full(self.nothing)
        full_ms: list[float] = []
        empty_ms: list[float] = []
        for n in range(20 + REVIEW_SAMPLES):
            number = rng.randrange(self.employees)
            pair = (
                (with_history, requester or f"E{number:06d}", full_ms),
                (without, f"N{number:06d}", empty_ms),
            )
            for step, employee, out in pair[:: 1 if n % 2 else -1]:
                began = time.perf_counter()
                await step(employee)
                if n >= 20:  # the first 20: warming up
                    out.append((time.perf_counter() - began) * 1000)
        return full_ms, empty_ms

    async def own_outcome_reads(
        self, samples: int = REVIEW_SAMPLES, requester: str | None = None
    ) -> list[float]:
        """The review's read of the requester's own closed requests alone (two visibility
        counts), for random requesters (or one)."""
        rng = random.Random(13)

        async def own(_: int) -> object:
            employee = requester or f"E{rng.randrange(self.employees):06d}"
            return await self.history.own_outcomes(employee, now=datetime.now(UTC))

        return await timed(samples, own)

    async def filed(self, _: object) -> str:
        """One auto-approved request, filed and waited for; its workflow id."""
        submitted = await self.service.submit(requester="UALICE", url=BOOK[0], amount=BOOK[1])
        result = await self.service.outcome(submitted.request.request_id, wait_seconds=60)
        if result is None or result.status is not PurchaseStatus.COMPLETED:
            # Reported, not fatal: a review that could not read the history in time sends
            # the request to a person, and that is a finding of this benchmark.
            self.not_auto_approved += 1
        return submitted.workflow_id

    async def auto_approved_path(self, samples: int = PATH_SAMPLES) -> list[float]:
        await timed(3, self.filed)  # warm
        return await timed(samples, self.filed)

    async def path_and_floor(self, samples: int = PATH_SAMPLES) -> tuple[list[float], list[float]]:
        """The path and `bench.workflow_latency`'s floor (the cheapest workflow with as many
        steps as the path ran, on a worker in this process), one of each in turn, the order
        swapped every other sample: both see the same server at the same moments."""
        steps = await steps_of(self.client, await self.filed(0))
        floor = floor_runner(self.client, regular=steps.total)
        path: list[float] = []
        floors: list[float] = []
        for n in range(3 + samples):
            for run, out in ((self.filed, path), (floor, floors))[:: 1 if n % 2 else -1]:
                began = time.perf_counter()
                await run(f"{n}-{time.time_ns()}")
                if n >= 3:  # the first 3: warming up
                    out.append((time.perf_counter() - began) * 1000)
        return path, floors


def review_input(employee_id: str) -> AutomatedReviewInput:
    """Alice's book, as if `employee_id` had asked: below every limit of the IT rules, so the
    requester's history decides."""
    request = PurchaseRequest(
        request_id="bench-review",
        requester="UALICE",
        employee_id=employee_id,
        department="IT",
        manager="UBOB",
        product_url=BOOK[0],
        amount=Money(amount=Decimal(BOOK[1])),
    )
    return AutomatedReviewInput(request=request, product=BOOK_INFO, shadow=True)


class Verdicts:
    """Every target's figure, printed as measured and again in a closing summary."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.phase = ""

    def say(self, text: str, passed: bool | None = None) -> None:
        if passed is not None:
            text = f"{text} {'PASS' if passed else 'MISS'}"
            self.lines.append(f"[{self.phase}] {text}" if self.phase else text)
        say(text)

    def ratio(
        self,
        name: str,
        base: list[float],
        full: list[float],
        target: float | None,
        *,
        base_name: str = "empty",
        median_only: bool = False,
    ) -> None:
        """`target` None: shown for comparison, no verdict. The verdict is on the worse of the
        median and p99 ratios, or on the median alone (`bench.workflow_latency`'s rule)."""
        (b50, b99), (f50, f99) = stats(base), stats(full)
        ratio = f50 / b50 if median_only else max(f50 / b50, f99 / b99)
        text = (
            f"{name:44} {base_name} median {b50:7.1f} ms p99 {b99:7.1f} | full median "
            f"{f50:7.1f} ms p99 {f99:7.1f} | {ratio:.2f}x{' (median)' if median_only else ''}"
        )
        if target is None:
            self.say(f"{text} (no target)")
        else:
            self.say(f"{text} (<= {target}x, {load()}):", ratio <= target)


@dataclass
class EmptyFigures:
    """What the installation measured before any history: the base of every ratio."""

    steps: list[float]
    reads: list[float]
    own: list[float]
    path: list[float]


async def run(
    rows: int, employees: int, closed: int, reimport: bool, data: Path, stack: AsyncExitStack
) -> None:
    installation = await start_installation(data, stack, ["worker"])
    client, env = installation.client, installation.env
    bot, worker = installation.bot, installation.workers["worker"]
    settings = Settings(data_dir=data / "bench")
    await enable_auto_approvals(client, settings.control_task_queue)
    probe = Probe(client, settings, employees)
    verdicts = Verdicts()

    await stack.enter_async_context(
        build_worker(client, [floor_step], task_queue=FLOOR_QUEUE, workflows=[FloorWorkflow])
    )
    say(f"{load()}. Empty history: {REVIEW_SAMPLES} reviews, {PATH_SAMPLES} requests...")
    empty = EmptyFigures(
        steps=await probe.samples(probe.reviewer(probe.history)),
        reads=await probe.samples(probe.history_reader(probe.history)),
        own=await probe.own_outcome_reads(),
        path=await probe.auto_approved_path(),
    )
    empty_rss = {"worker": rss_mb(worker.pid), "bot": rss_mb(bot.pid)}

    csv_path = data / "history.csv"
    write_csv(csv_path, rows, employees)
    size_mb = csv_path.stat().st_size / 1e6
    say(f"{load()}. Importing {rows:,} rows ({size_mb:.0f} MB) for {employees:,} employees...")
    (data / "importer").mkdir()
    seconds, output = await import_file(csv_path, env, data / "importer")
    verdicts.say(
        f"import of {rows:,} rows: {seconds:.0f} s, {rows / seconds:,.0f} rows/s "
        f"(<= {IMPORT_TARGET_SECONDS:.0f} s, {load()}) -- {output}:",
        seconds <= IMPORT_TARGET_SECONDS,
    )
    say(f"worker RSS after the import: {rss_mb(worker.pid)[0]:.0f} MB")
    if reimport:
        again, again_output = await import_file(csv_path, env, data / "importer")
        say(f"same file again: {again:.0f} s -- {again_output}")

    say(f"{load()}. Full history, a worker that has read no shard yet...")
    verdicts.ratio(
        "history reads, cold cache (each shard read once)",
        empty.reads,
        await probe.samples(
            probe.history_reader(UserHistorySource(client, probe.new_store(cold=True)))
        ),
        None,
    )
    # The worker's own cache: its first review of a shard run it has not cached (the import made
    # new ones) refreshes every shard in the background, and logs when it starts and ends. The
    # path is measured once no refresh is running: a worker in service after an import.
    worker_log = data / "worker" / "purchasebot.log"
    began = time.monotonic()
    await probe.auto_approved_path(samples=0)
    while printed(worker_log).count(REFRESHING) > printed(worker_log).count(REFRESHED):
        if time.monotonic() - began > 600:
            raise RuntimeError("the worker did not refresh its history shard cache in 10 minutes")
        await asyncio.sleep(0.5)  # a file, polled with a deadline
    refreshes = [x.strip() for x in printed(worker_log).splitlines() if REFRESHED in x]
    say(f"the worker's last {refreshes[-1] if refreshes else 'no refresh'}")
    began = time.monotonic()
    read = await probe.store.warm()
    took = time.monotonic() - began
    say(f"{load()}. A worker's cache warmed: {read} shard runs read in {took:.1f} s")
    await probe.know_every_shard_is_empty()
    # The full history first with only the few requests closed so far, then again once the
    # closed requests are there: a run cut short still reports the first.
    visible = (await client.count_workflows("WorkflowType = 'PurchaseApprovalWorkflow'")).count
    say(f"{load()}. Full history, {visible:,} requests in visibility: the same measurements...")
    verdicts.phase = f"{visible:,} in visibility"
    await measure_full(probe, verdicts, empty)
    step = max(1, min(closed, CLOSED_STEP))
    for first in range(0, closed, step):
        count = min(step, closed - first)
        took = await close_requests(client, data / "temporal.db", first, count, employees)
        own = stats(await probe.own_outcome_reads(OWN_SAMPLES_PER_STEP))
        say(
            f"{load()}. {first + count:,} closed requests ({count / took:,.0f}/s): own outcomes "
            f"median {own[0]:.1f} ms p99 {own[1]:.1f} ms"
        )
    visible = (await client.count_workflows("WorkflowType = 'PurchaseApprovalWorkflow'")).count
    say(f"{load()}. Full history, {visible:,} requests in visibility: the same measurements...")
    verdicts.phase = f"{visible:,} in visibility"
    await measure_full(probe, verdicts, empty)
    heavy = f"E{employees - 1:06d}"
    await close_requests(client, data / "temporal.db", closed, HEAVY_REQUESTS, employees, heavy)
    say(f"{load()}. One requester, {heavy}, with {HEAVY_REQUESTS:,} closed requests of their own:")
    full, none = await probe.paired(probe.reviewer, requester=heavy)
    # No target: the figure is over the company's requesters (~1 own request each). The
    # counts read this person's rows one by one on SQLite: what it costs is shown.
    verdicts.ratio("review step, vs no history at all, interleaved", none, full, None)
    verdicts.ratio(
        "  own outcomes alone (visibility counts)",
        empty.own,
        await probe.own_outcome_reads(requester=heavy),
        None,
    )

    importer_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    say(f"at the end: {load()}")
    for name, process in (("worker", worker), ("bot", bot)):
        now, peak = rss_mb(process.pid)
        say(f"{name} RSS with the empty history: {empty_rss[name][0]:.0f} MB")
        verdicts.say(
            f"{name} RSS: {now:.0f} MB now, peak {peak:.0f} MB (<= {RSS_TARGET_MB:.0f} MB):",
            peak <= RSS_TARGET_MB,
        )
    say(f"importer (a CLI process) peak RSS: {importer_peak:.0f} MB")
    say(f"\nSummary ({rows:,} rows, {employees:,} employees, {visible:,} requests in visibility):")
    for text in verdicts.lines:
        say(f"  {text}")


async def measure_full(probe: Probe, verdicts: Verdicts, empty: EmptyFigures) -> None:
    full, none = await probe.paired(probe.reviewer)
    verdicts.ratio(
        "review step, vs no history at all, interleaved", none, full, REVIEW_RATIO_TARGET
    )
    steps = await probe.samples(probe.reviewer(probe.history))
    verdicts.ratio("  same, vs the empty phase", empty.steps, steps, None)
    full, none = await probe.paired(probe.history_reader)
    verdicts.ratio("  history reads alone, interleaved", none, full, None)
    reads = await probe.samples(probe.history_reader(probe.history))
    verdicts.ratio("  history reads alone, vs the empty phase", empty.reads, reads, None)
    own = await probe.own_outcome_reads()
    verdicts.ratio("  own outcomes alone, vs the empty phase", empty.own, own, None)
    path, floor = await probe.path_and_floor()
    verdicts.ratio(
        "auto-approved path vs the floor, interleaved",
        floor,
        path,
        PATH_RATIO_TARGET,
        base_name="floor",
        median_only=True,
    )
    verdicts.ratio("  path, empty history vs now", empty.path, path, None)
    say(f"requests not auto-approved within 60 s so far: {probe.not_auto_approved}")


async def import_file(path: Path, env: dict[str, str], data: Path) -> tuple[float, str]:
    began = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        str(PURCHASEBOT),
        "history",
        "import",
        str(path),
        env={**env, "PURCHASEBOT_DATA_DIR": str(data)},
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    took = time.monotonic() - began
    text = out.decode(errors="replace").strip()
    if process.returncode != 0:
        raise RuntimeError(f"history import failed ({process.returncode}): {text}")
    return took, text.splitlines()[0] if text else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--closed", type=int, default=100_000)
    parser.add_argument(
        "--keep", type=Path, help="keep the data (and the server's log) in this new directory"
    )
    parser.add_argument(
        "--skip-reimport", action="store_true", help="do not import the file a second time"
    )
    args = parser.parse_args()

    async def go() -> None:
        with ExitStack() as files:
            if args.keep is None:
                data = Path(files.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
            else:
                data = args.keep
                data.mkdir(parents=True)
            async with AsyncExitStack() as stack:
                await run(
                    args.rows, args.employees, args.closed, not args.skip_reimport, data, stack
                )

    asyncio.run(go())
    sys.stdout.flush()


if __name__ == "__main__":
    main()
