"""The Python SDK's side of the `#[workflow_interface]` test in tests/client_operations.rs.

    interface.py ADDRESS TASK_QUEUE WORKFLOW_ID

Serves `OrderWorkflow` on TASK_QUEUE until the workflow WORKFLOW_ID (started by the Rust test
through its interface) completes, then prints {"result": ...}. The Rust side declares the same
workflow with `#[workflow_interface(name = "OrderWorkflow")]` and drives it: a signal with a
dataclass argument, a query answering a list of them, an update, and the result.
"""

import asyncio
import json
import os
import sys
from dataclasses import dataclass

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker


@dataclass
class Item:
    name: str
    cents: int


@workflow.defn(name="OrderWorkflow")
class OrderWorkflow:
    def __init__(self) -> None:
        self._items: list[Item] = []
        self._price = 0
        self._closed = False

    @workflow.run
    async def run(self, customer: str) -> str:
        await workflow.wait_condition(lambda: self._closed)
        total = sum(item.cents for item in self._items)
        return f"{customer}: {len(self._items)} items, {total} cents, price {self._price}"

    @workflow.signal(name="add-item")
    def add(self, item: Item) -> None:
        self._items.append(item)

    @workflow.signal
    def close(self) -> None:
        self._closed = True

    @workflow.query
    def items(self) -> list[Item]:
        return self._items

    @workflow.update
    def set_price(self, cents: int) -> int:
        previous, self._price = self._price, cents
        return previous


async def main(address: str, task_queue: str, workflow_id: str) -> None:
    client = await Client.connect(address)
    async with Worker(client, task_queue=task_queue, workflows=[OrderWorkflow]):
        result = await asyncio.wait_for(client.get_workflow_handle(workflow_id).result(), 60)
    print(json.dumps({"result": result}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
    # The SDK's native threads can crash the interpreter while it finalizes, after all output
    # is written: leave without finalizing (as interop.py does). An exception above still exits
    # non-zero with its traceback.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
