"""The Python SDK's side of the cross-SDK tests in tests/semantics.rs.

    interop.py record ADDRESS TASK_QUEUE WORKFLOW_ID   runs InteropParcel on a Python worker and
                                                       prints its history as JSON
    interop.py failure ADDRESS WORKFLOW_ID             waits for a failed workflow's result and prints
                                                       {"message": ..., "cause": ...} as Python
                                                       decodes them
    interop.py replay HISTORY_JSON_FILE                replays a history (written by the Rust
                                                       worker) with the Python workflow, and with
                                                       a copy whose activity type changed; prints
                                                       {"same": ..., "renamed": ...}

The workflow is the same as the Rust one of the same name: a patch, a local activity, an
activity, a timer and a deprecated patch.
"""

import asyncio
import json
import os
import sys
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client, WorkflowFailureError, WorkflowHistory
from temporalio.worker import Replayer, Worker


@activity.defn(name="weigh")
async def weigh(order: str) -> int:
    return len(order) * 100


@activity.defn(name="pack")
async def pack(order: str) -> str:
    return f"{order} packed"


async def parcel(order: str, pack_activity: str) -> str:
    carrier = "fast" if workflow.patched("fast-carrier") else "standard"
    grams = await workflow.execute_local_activity(
        "weigh", order, result_type=int, start_to_close_timeout=timedelta(seconds=10)
    )
    packed = await workflow.execute_activity(
        pack_activity, order, result_type=str, start_to_close_timeout=timedelta(seconds=10)
    )
    await asyncio.sleep(0.1)
    workflow.deprecate_patch("old-box")
    return f"{packed} via {carrier}, {grams} g"


@workflow.defn(name="InteropParcel")
class InteropParcel:
    @workflow.run
    async def run(self, order: str) -> str:
        return await parcel(order, "pack")


@workflow.defn(name="InteropParcel")
class InteropParcelRenamed:
    """The same workflow after someone renamed the activity it calls."""

    @workflow.run
    async def run(self, order: str) -> str:
        return await parcel(order, "pack_v2")


async def record(address: str, task_queue: str, workflow_id: str) -> None:
    client = await Client.connect(address)
    async with Worker(client, task_queue=task_queue, workflows=[InteropParcel], activities=[weigh, pack]):
        handle = await client.start_workflow(InteropParcel.run, "book", id=workflow_id, task_queue=task_queue)
        await handle.result()
        history = await handle.fetch_history()
    # One line: the SDK may log to stdout too, and the test reads the last line.
    print(json.dumps(json.loads(history.to_json())))


async def failure(address: str, workflow_id: str) -> None:
    client = await Client.connect(address)
    try:
        await client.get_workflow_handle(workflow_id).result()
        outcome = {"message": None, "cause": None}
    except WorkflowFailureError as e:
        root = e.cause
        while root.__cause__ is not None:
            root = root.__cause__
        outcome = {"message": str(e.cause.message), "cause": str(root.message)}
    print(json.dumps(outcome))


async def replay(path: str) -> None:
    with open(path) as f:
        text = f.read()
    outcome = {}
    for name, definition in [("same", InteropParcel), ("renamed", InteropParcelRenamed)]:
        history = WorkflowHistory.from_json("interop", text)
        try:
            await Replayer(workflows=[definition]).replay_workflow(history)
            outcome[name] = "ok"
        except workflow.NondeterminismError as e:
            outcome[name] = f"nondeterminism: {e}"
        except Exception as e:  # anything else is a failure the test reports as is
            outcome[name] = f"error {type(e).__name__}: {e}"
    print(json.dumps(outcome))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    asyncio.run({"record": record, "replay": replay, "failure": failure}[command](*args))
    # The SDK's native threads can abort the interpreter while it finalizes ("PyGILState_Release:
    # thread state must be current", SIGABRT) after all output is written: leave without
    # finalizing. An exception above still exits non-zero with its traceback.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
