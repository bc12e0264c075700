"""The Python SDK's side of tests/tracing.rs: one OpenTelemetry trace across both SDKs.

    tracing.py ADDRESS RUST_TASK_QUEUE PYTHON_TASK_QUEUE WORKFLOW_ID

Starts `TracedOrder` (a Rust workflow, on RUST_TASK_QUEUE) from a Python client with the
SDK's `TracingInterceptor`, queries and signals it (all within one `place-order` span), and serves its `py_shout` activity on
PYTHON_TASK_QUEUE with the same interceptor; prints the result and every span the Python side
recorded, as JSON: {"result": ..., "spans": [{"name", "trace_id", "span_id", "parent_id",
"kind", "attributes", "links"}]}.
"""

import asyncio
import json
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


async def main(address: str, rust_queue: str, python_queue: str, workflow_id: str) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("python-peer")
    client = await Client.connect(address, interceptors=[TracingInterceptor(tracer)])
    async with Worker(client, task_queue=python_queue, activities=[py_shout]):
        # One request of the caller's service: its calls share one trace.
        with tracer.start_as_current_span("place-order"):
            handle = await client.start_workflow("TracedOrder", "ada", id=workflow_id, task_queue=rust_queue)
            # The query waits for the first workflow task, so the signal finds the run started.
            status = await handle.query("status")
            await handle.signal("approve")
            result = await asyncio.wait_for(handle.result(), 60)
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
    print(json.dumps({"result": result, "status": status, "spans": spans}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
