"""AfterAck: work waits while its own bot is answering Slack, and two bots never share that."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.slack.after_ack import AfterAck


async def test_work_waits_for_its_own_answers_only() -> None:
    busy, other = AfterAck(quiet=0.01, max_defer=30), AfterAck(quiet=0.01, max_defer=30)
    done: list[str] = []
    other_done = asyncio.Event()

    async def work(name: str) -> None:
        done.append(name)
        if name == "other":
            other_done.set()

    async with busy.answering():
        busy.schedule(work("busy"), "busy work")
        other.schedule(work("other"), "other work")
        await asyncio.wait_for(other_done.wait(), 5)
        assert done == ["other"]  # the busy bot's work waits for its answer to leave
    await asyncio.wait_for(busy.drain(), 5)
    assert done == ["other", "busy"]


async def test_a_steady_stream_of_answers_does_not_starve_the_work() -> None:
    after_ack = AfterAck(quiet=0.01, max_defer=0.05)
    ran = asyncio.Event()

    async def work() -> None:
        ran.set()

    async with after_ack.answering():
        after_ack.schedule(work(), "work")
        await asyncio.wait_for(ran.wait(), 5)  # still answering: max_defer let it through


async def test_failed_work_is_logged_and_drain_waits_for_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    after_ack = AfterAck(quiet=0)
    finished = []
    release = asyncio.Event()

    async def fails() -> None:
        raise RuntimeError("boom")

    async def slow() -> None:
        await release.wait()  # still running when the drain begins
        finished.append("slow")

    with caplog.at_level(logging.ERROR, logger="bot.slack.after_ack"):
        after_ack.schedule(fails(), "failing work")
        after_ack.schedule(slow(), "slow work")
        draining = asyncio.create_task(after_ack.drain())
        release.set()
        await asyncio.wait_for(draining, 5)
    assert finished == ["slow"]
    assert "failing work failed after the ack" in caplog.text
