"""The Python SDK's side of the cross-SDK tests in tests/nexus.rs: the `inventory` Nexus
service (the same operations as the Rust test's) served and called from Python.

    nexus.py serve-and-start ADDRESS CALLER_QUEUE HANDLER_QUEUE ENDPOINT WORKFLOW_ID
        serves `inventory` on HANDLER_QUEUE (sync `reserve`, workflow-backed `restock`), starts
        the Rust `Shopper` workflow on CALLER_QUEUE with ENDPOINT and prints its result (JSON)
    nexus.py call ADDRESS CALLER_QUEUE ENDPOINT WORKFLOW_ID
        runs a Python workflow that calls the operations through ENDPOINT (served by a Rust
        worker) as `Shopper` does, and prints what it saw (JSON)
"""

import asyncio
import json
import os
import sys
from datetime import timedelta

import nexusrpc
import nexusrpc.handler
from temporalio import nexus, workflow
from temporalio.client import Client
from temporalio.exceptions import NexusOperationError
from temporalio.worker import Worker


@nexusrpc.service(name="inventory")
class Inventory:
    reserve: nexusrpc.Operation[str, int]
    restock: nexusrpc.Operation[list, str]


@workflow.defn(name="Restock")
class Restock:
    @workflow.run
    async def run(self, item: str, count: int) -> str:
        await asyncio.sleep(1)
        return f"{count} {item} restocked"


@nexusrpc.handler.service_handler(service=Inventory)
class InventoryHandler:
    @nexusrpc.handler.sync_operation
    async def reserve(self, ctx: nexusrpc.handler.StartOperationContext, item: str) -> int:
        if item == "":
            raise nexusrpc.HandlerError("an item is required", type=nexusrpc.HandlerErrorType.BAD_REQUEST)
        if item == "unicorn":
            raise nexusrpc.OperationError(
                "unicorns are out of stock", state=nexusrpc.OperationErrorState.FAILED
            )
        return len(item)

    @nexus.workflow_run_operation
    async def restock(self, ctx: nexus.WorkflowRunOperationContext, args: list) -> nexus.WorkflowHandle[str]:
        item, count = args
        return await ctx.start_workflow(Restock.run, args=[item, count], id=f"py-restock-{ctx.request_id}")


def root_message(error: BaseException) -> str:
    while error.__cause__ is not None:
        error = error.__cause__
    return str(error.message) if hasattr(error, "message") else str(error)


@workflow.defn(name="PyShopper")
class PyShopper:
    @workflow.run
    async def run(self, endpoint: str) -> list:
        client = workflow.create_nexus_client(service="inventory", endpoint=endpoint)
        timeout = timedelta(seconds=20)
        seen = []
        for item in ["tea", "unicorn", ""]:
            try:
                n = await client.execute_operation("reserve", item, output_type=int, schedule_to_close_timeout=timeout)
                seen.append(f"{item}: reserved {n}")
            except NexusOperationError as e:
                seen.append(f"{item}: {root_message(e)}")
        seen.append(
            await client.execute_operation(
                "restock", ["tea", 12], output_type=str, schedule_to_close_timeout=timedelta(seconds=30)
            )
        )
        try:
            await client.execute_operation("audit", None, schedule_to_close_timeout=timeout)
            seen.append("audit: done")
        except NexusOperationError as e:
            seen.append(f"audit: {root_message(e)}")
        return seen


async def serve_and_start(address, caller_queue, handler_queue, endpoint, workflow_id):
    client = await Client.connect(address)
    async with Worker(
        client, task_queue=handler_queue, nexus_service_handlers=[InventoryHandler()], workflows=[Restock]
    ):
        result = await asyncio.wait_for(
            client.execute_workflow("Shopper", endpoint, id=workflow_id, task_queue=caller_queue), 60
        )
    print(json.dumps(result))


async def call(address, caller_queue, endpoint, workflow_id):
    client = await Client.connect(address)
    async with Worker(client, task_queue=caller_queue, workflows=[PyShopper]):
        result = await asyncio.wait_for(
            client.execute_workflow(PyShopper.run, endpoint, id=workflow_id, task_queue=caller_queue), 60
        )
    print(json.dumps(result))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    asyncio.run({"serve-and-start": serve_and_start, "call": call}[command](*args))
    # The answer is printed: leave without interpreter finalization, which the SDK's native
    # threads can still race after a Nexus worker ran (seen as SIGABRT in PyGILState_Release).
    sys.stdout.flush()
    os._exit(0)
