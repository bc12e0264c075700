"""The Python SDK's side of tests/protobuf.rs: protobuf payloads both ways, both encodings.

    protobuf.py ADDRESS RUST_TASK_QUEUE PYTHON_TASK_QUEUE WORKFLOW_ID

With the default data converter (protobuf messages go out as `json/protobuf`), starts
`ProtoExchange` (a Rust workflow, on RUST_TASK_QUEUE) with a `WorkflowExecution`; with a
converter that puts `binary/protobuf` first, signals it a `RetryPolicy`. Serves the
`py_inspect` activity on PYTHON_TASK_QUEUE, which receives both messages from the Rust
workflow and answers a `WorkflowExecution`. Waits for the result (a `HistoryEvent`) and queries
`parent`. Prints, as JSON, each message Python decoded: its full type name and its proto3 JSON
(`MessageToDict`), under "activity_parent", "activity_policy", "result" and "query".
"""

import asyncio
import dataclasses
import json
import os
import sys

from google.protobuf.duration_pb2 import Duration
from google.protobuf.json_format import MessageToDict
from temporalio import activity
from temporalio.api.common.v1 import RetryPolicy, WorkflowExecution
from temporalio.client import Client
from temporalio.converter import (
    BinaryNullPayloadConverter,
    BinaryPlainPayloadConverter,
    BinaryProtoPayloadConverter,
    CompositePayloadConverter,
    DataConverter,
    JSONPlainPayloadConverter,
    JSONProtoPayloadConverter,
)
from temporalio.worker import Worker

SEEN = {}


def described(message):
    return {"type": message.DESCRIPTOR.full_name, "json": MessageToDict(message)}


class BinaryProtoFirst(CompositePayloadConverter):
    """The default converters, with `binary/protobuf` chosen before `json/protobuf`."""

    def __init__(self) -> None:
        super().__init__(
            BinaryNullPayloadConverter(),
            BinaryPlainPayloadConverter(),
            BinaryProtoPayloadConverter(),
            JSONProtoPayloadConverter(),
            JSONPlainPayloadConverter(),
        )


@activity.defn(name="py_inspect")
async def py_inspect(parent: WorkflowExecution, policy: RetryPolicy) -> WorkflowExecution:
    SEEN["activity_parent"] = described(parent)
    SEEN["activity_policy"] = described(policy)
    return WorkflowExecution(workflow_id=parent.workflow_id + "/seen", run_id=str(policy.maximum_attempts))


async def main(address: str, rust_queue: str, python_queue: str, workflow_id: str) -> None:
    client = await Client.connect(address)
    binary = await Client.connect(
        address,
        data_converter=dataclasses.replace(DataConverter.default, payload_converter_class=BinaryProtoFirst),
    )
    async with Worker(client, task_queue=python_queue, activities=[py_inspect]):
        handle = await client.start_workflow(
            "ProtoExchange",
            WorkflowExecution(workflow_id="py-parent", run_id="py-run"),
            id=workflow_id,
            task_queue=rust_queue,
        )
        policy = RetryPolicy(
            initial_interval=Duration(seconds=1, nanos=500_000_000),
            backoff_coefficient=1.5,
            maximum_attempts=4,
            non_retryable_error_types=["Fatal"],
        )
        await binary.get_workflow_handle(workflow_id).signal("policy", policy)
        SEEN["result"] = described(await asyncio.wait_for(handle.result(), 60))
        SEEN["query"] = described(await handle.query("parent"))
    print(json.dumps(SEEN))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
    # The SDK's native threads can abort the interpreter while it finalizes ("PyGILState_Release:
    # thread state must be current", SIGABRT, seen in CI) after all output is written: leave
    # without finalizing, as the other scripts do. An exception above still exits non-zero.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
