"""The Python SDK's side of tests/tracing.rs: one OpenTelemetry trace across both SDKs.

    tracing.py workflow ADDRESS RUST_TASK_QUEUE PYTHON_TASK_QUEUE WORKFLOW_ID
    tracing.py nexus ADDRESS RUST_TASK_QUEUE PYTHON_TASK_QUEUE ENDPOINT WORKFLOW_ID
    tracing.py nexus-caller ADDRESS PYTHON_TASK_QUEUE ENDPOINT WORKFLOW_ID

`workflow` starts `TracedOrder` (a Rust workflow, on RUST_TASK_QUEUE) from a Python client
with the SDK's `TracingInterceptor`, queries and signals it (all within one `place-order`
span), and serves its `py_shout` activity on PYTHON_TASK_QUEUE with the same interceptor.
`nexus` serves the `inventory` Nexus service of tests/python/nexus.py on PYTHON_TASK_QUEUE
(traced) and starts the Rust `TracedShopper` workflow, which calls it through ENDPOINT.
`nexus-caller` runs the Python `PyShopper` workflow of tests/python/nexus.py (traced), which
calls the operations through ENDPOINT (served by a traced Rust worker). Each
prints the result and every span the Python side recorded, as JSON: {"result": ...,
"status": ..., "spans": [{"name", "trace_id", "span_id", "parent_id", "kind", "attributes",
"links"}]}.
"""

import asyncio
import json
import os
import sys

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.worker import Worker


@activity.defn(name="py_shout")
async def py_shout(text: str) -> str:
    return text.upper()


def hex_id(value: int, width: int) -> str:
    return format(value, f"0{width}x")


def traced():
    """A tracer whose spans are kept in memory, and its exporter."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("python-peer"), exporter


def finished_spans(exporter) -> list:
    spans = []
    for span in exporter.get_finished_spans():
        context = span.get_span_context()
        spans.append(
            {
                "name": span.name,
                "trace_id": hex_id(context.trace_id, 32),
                "span_id": hex_id(context.span_id, 16),
                "parent_id": hex_id(span.parent.span_id, 16) if span.parent else None,
                "kind": span.kind.name,
                "attributes": dict(span.attributes or {}),
                "links": [hex_id(link.context.span_id, 16) for link in span.links],
            }
        )
    return spans


async def workflow_call(address: str, rust_queue: str, python_queue: str, workflow_id: str) -> None:
    tracer, exporter = traced()
    client = await Client.connect(address, interceptors=[TracingInterceptor(tracer)])
    async with Worker(client, task_queue=python_queue, activities=[py_shout]):
        # One request of the caller's service: its calls share one trace.
        with tracer.start_as_current_span("place-order"):
            handle = await client.start_workflow("TracedOrder", "ada", id=workflow_id, task_queue=rust_queue)
            # The query waits for the first workflow task, so the signal finds the run started.
            status = await handle.query("status")
            await handle.signal("approve")
            result = await asyncio.wait_for(handle.result(), 60)
    print(json.dumps({"result": result, "status": status, "spans": finished_spans(exporter)}))


async def nexus_call(address: str, rust_queue: str, python_queue: str, endpoint: str, workflow_id: str) -> None:
    from nexus import InventoryHandler, Restock

    tracer, exporter = traced()
    client = await Client.connect(address, interceptors=[TracingInterceptor(tracer)])
    async with Worker(
        client, task_queue=python_queue, nexus_service_handlers=[InventoryHandler()], workflows=[Restock]
    ):
        with tracer.start_as_current_span("place-order"):
            result = await asyncio.wait_for(
                client.execute_workflow("TracedShopper", endpoint, id=workflow_id, task_queue=rust_queue), 60
            )
    print(json.dumps({"result": result, "status": "", "spans": finished_spans(exporter)}))


async def nexus_caller(address: str, python_queue: str, endpoint: str, workflow_id: str) -> None:
    from nexus import PyShopper

    tracer, exporter = traced()
    client = await Client.connect(address, interceptors=[TracingInterceptor(tracer)])
    async with Worker(client, task_queue=python_queue, workflows=[PyShopper]):
        with tracer.start_as_current_span("place-order"):
            result = await asyncio.wait_for(
                client.execute_workflow(PyShopper.run, endpoint, id=workflow_id, task_queue=python_queue), 60
            )
    print(json.dumps({"result": json.dumps(result), "status": "", "spans": finished_spans(exporter)}))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    commands = {"workflow": workflow_call, "nexus": nexus_call, "nexus-caller": nexus_caller}
    asyncio.run(commands[command](*args))
    # The answer is printed: leave without interpreter finalization, which the SDK's native
    # threads can race after a Nexus worker ran.
    sys.stdout.flush()
    os._exit(0)
