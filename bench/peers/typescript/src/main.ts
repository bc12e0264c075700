// The TypeScript SDK's bench program (see bench/README.md for the contract):
//
//   node lib/main.js worker TASK_QUEUE
//   node lib/main.js local TASK_QUEUE WORKFLOWS CONCURRENCY ACTIVITIES WARM_UP
//   node lib/main.js replay HISTORY_JSON ROUNDS
//   node lib/main.js testenv TIMERS
//
// The server address comes from TEMPORAL_ADDRESS (namespace `default`); `testenv` runs the
// time-skipping test server binary that BENCH_TEST_SERVER names, if set.
import { readFileSync } from 'node:fs';
import { Client } from '@temporalio/client';
// package.json depends on protobufjs directly only so npm hoists the one copy that the
// @temporalio packages share: otherwise each gets its own nested copy and historyFromJSON fails
// with "type must be a Type" (its protobufjs does not recognise @temporalio/proto's types).
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import * as activities from './activities';

const workflowsPath = require.resolve('./workflows');

/** SDK logs (the TS side and the native core) at warning level, to stderr. */
function installRuntime(): void {
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
}

/** Resolves on the first line on stdin, or when stdin closes. */
function stdinLineOrEof(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.on('data', (chunk: Buffer) => {
      if (chunk.includes(0x0a)) resolve();
    });
    process.stdin.on('end', () => resolve());
    process.stdin.on('error', () => resolve());
    process.stdin.resume();
  });
}

function connect(): Promise<NativeConnection> {
  return NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
}

/** The worker for the three workflows and the activity, with the contract's settings. */
function benchWorker(connection: NativeConnection, taskQueue: string): Promise<Worker> {
  const maxCachedWorkflows = intArg(process.env.BENCH_MAX_CACHED ?? '10000', 'BENCH_MAX_CACHED');
  // The SDK refuses more concurrent workflow tasks than cached runs (unless the cache is off) and
  // would clamp with a warning; clamp here instead.
  const maxWorkflowTasks = maxCachedWorkflows > 0 ? Math.min(500, Math.max(2, maxCachedWorkflows)) : 500;
  // Bundles the workflows with webpack (about 2 s) before returning.
  return Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    workflowsPath,
    activities,
    maxConcurrentActivityTaskExecutions: 500,
    maxConcurrentWorkflowTaskExecutions: maxWorkflowTasks,
    maxCachedWorkflows,
  });
}

/** Runs `w`; returns run()'s promise, which settles once the worker has shut down. */
function startPolling(w: Worker): Promise<void> {
  // run() starts the pollers synchronously.
  const running = w.run();
  if (w.getState() !== 'RUNNING') throw new Error(`worker did not start: ${w.getState()}`);
  return running;
}

async function worker(taskQueue: string): Promise<void> {
  installRuntime();
  const connection = await connect();
  const w = await benchWorker(connection, taskQueue);
  const running = startPolling(w);
  process.stdout.write('ready\n');

  await Promise.race([stdinLineOrEof(), running]);
  if (w.getState() === 'RUNNING') w.shutdown(); // graceful: drains in-flight tasks
  await running;
  await connection.close();
}

/** The p-th percentile (0 to 1) of sorted figures, at index round((n - 1) * p). */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.round((sorted.length - 1) * p)];
}

/** The shape of one drive: `workflows` runs of BenchSequential(activities), `concurrency` at a
 * time, with ids `idPrefix-0`, …, each asking for eager start. */
interface Drive {
  workflows: number;
  concurrency: number;
  activities: number;
  idPrefix: string;
}

/** Runs `shape` on `client` and returns its report line: throughput and start-to-result
 * latencies. */
async function drive(client: Client, taskQueue: string, shape: Drive): Promise<string> {
  const { workflows, concurrency, activities, idPrefix } = shape;
  const latencies: number[] = [];
  let next = 0;
  // `concurrency` lanes, each starting the next run as its last one finishes.
  const lane = async (): Promise<void> => {
    for (let i = next++; i < workflows; i = next++) {
      const workflowId = `${idPrefix}-${i}`;
      const t0 = process.hrtime.bigint();
      const handle = await client.workflow.start('BenchSequential', {
        taskQueue,
        workflowId,
        args: [activities],
        requestEagerStart: true,
      });
      const result = await handle.result();
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (result !== activities) throw new Error(`${workflowId} returned ${result}, expected ${activities}`);
    }
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: Math.min(concurrency, workflows) }, lane));
  const seconds = Math.max(Number(process.hrtime.bigint() - started) / 1e9, 1e-9);
  latencies.sort((x, y) => x - y);
  return (
    `{"workflows": ${workflows}, "seconds": ${seconds.toFixed(3)}, ` +
    `"workflows_per_second": ${(workflows / seconds).toFixed(1)}, ` +
    `"p50_ms": ${percentile(latencies, 0.5).toFixed(1)}, "p99_ms": ${percentile(latencies, 0.99).toFixed(1)}}`
  );
}

async function local(taskQueue: string, shape: Drive, warmUp: number): Promise<void> {
  installRuntime();
  const connection = await connect();
  const w = await benchWorker(connection, taskQueue);
  const running = startPolling(w);
  // The client on the worker's NativeConnection: the SDK hands an eagerly started workflow's
  // first task to a worker only through the connection that worker polls on (and refuses
  // requestEagerStart on any other).
  const client = new Client({ connection, namespace: 'default' });
  const work = async (): Promise<void> => {
    const warmUpShape = { ...shape, workflows: warmUp, concurrency: Math.max(warmUp, 1), idPrefix: `${taskQueue}-warm-up` };
    await drive(client, taskQueue, warmUpShape);
    process.stdout.write('ready\n');
    await stdinLineOrEof();
    process.stdout.write((await drive(client, taskQueue, shape)) + '\n');
    // Measured from outside until told to stop.
    await stdinLineOrEof();
  };
  // A worker that stops early fails the command, rather than leaving the starts waiting for
  // results that never come.
  const stopped = running.then(() => {
    throw new Error(`the worker stopped before the drive ended: ${w.getState()}`);
  });
  stopped.catch(() => {}); // it only matters while racing the drive, not once the drive is done
  await Promise.race([work(), stopped]);
  w.shutdown(); // graceful: drains in-flight tasks
  await running;
  await connection.close();
}

async function replay(file: string, rounds: number): Promise<void> {
  installRuntime();
  // Bundle and parse once; neither is part of the timing.
  const workflowBundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  const history = historyFromJSON(JSON.parse(readFileSync(file, 'utf8')));
  const events = history.events?.length ?? 0;

  // One replay worker for every round (as a replayer object is reused in the other SDKs): the
  // history is fed once for the warm-up, then `rounds` times. Each result arrives when that run
  // has been replayed to its end and evicted; the next history is only pushed after that.
  function* histories() {
    for (let i = 0; i <= rounds; i++) yield { workflowId: `replay-${i}`, history };
  }
  let started = 0n;
  let done = 0;
  for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'bench' }, histories())) {
    if (result.error) throw result.error; // nondeterminism (or a failure) in this round
    if (done === 0) started = process.hrtime.bigint();
    done++;
  }
  if (done !== rounds + 1) throw new Error(`replayed ${done} histories, expected ${rounds + 1}`);
  const seconds = Math.max(Number(process.hrtime.bigint() - started) / 1e9, 1e-9);
  process.stdout.write(
    `{"history_events": ${events}, "rounds": ${rounds}, "seconds": ${seconds.toFixed(3)}, ` +
      `"events_per_second": ${Math.round((events * rounds) / seconds)}}\n`,
  );
}

/** Rejects after `ms` with `what` timed out. */
function timeout<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000} s`)), ms).unref()),
  ]);
}

/** A short reason for `{"unavailable": …}` from createTimeSkipping's error. */
function unavailableReason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  // The usual case offline: the test server is not in the npm packages; the SDK downloads it.
  const download = /failed to download ephemeral server executable: .*?\(https?:\/\/([^/)]+)[^)]*\)/.exec(message);
  if (download) {
    const cause = message.split(': ').slice(-3).join(': '); // the innermost errors
    return (
      `TestWorkflowEnvironment.createTimeSkipping() downloads the time-skipping test server ` +
      `(not in the npm packages) from ${download[1]} at run time, which failed: ${cause}; ` +
      `set BENCH_TEST_SERVER to an installed temporal-test-server binary instead`
    );
  }
  return `TestWorkflowEnvironment.createTimeSkipping() failed: ${message}`;
}

async function testenv(timers: number): Promise<void> {
  installRuntime();
  let env: TestWorkflowEnvironment;
  // The time-skipping test server is a separate native binary (from the Java SDK). The SDK
  // downloads it on first use unless given one: BENCH_TEST_SERVER names an installed binary.
  const path = process.env.BENCH_TEST_SERVER;
  const server = path ? { executable: { type: 'existing-path' as const, path } } : undefined;
  try {
    env = await timeout(60_000, 'starting the time-skipping test server', TestWorkflowEnvironment.createTimeSkipping({ server }));
  } catch (e) {
    process.stdout.write(JSON.stringify({ unavailable: unavailableReason(e) }) + '\n');
    return;
  }
  try {
    const taskQueue = 'bench-testenv';
    const w = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath, activities });
    const timed = async (id: string, args: [number, number]): Promise<number> => {
      const t0 = process.hrtime.bigint();
      const result = await env.client.workflow.execute('BenchTimers', { taskQueue, workflowId: id, args });
      if (result !== args[0]) throw new Error(`BenchTimers returned ${result}, expected ${args[0]}`);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const [thirtyDay, sequential] = await w.runUntil(async () => [
      await timed('bench-thirty-day', [1, 2_592_000]),
      await timed('bench-sequential-timers', [timers, 1]),
    ]);
    process.stdout.write(
      `{"thirty_day_timer_ms": ${Math.round(thirtyDay)}, "timers": ${timers}, ` +
        `"sequential_timers_ms": ${Math.round(sequential)}}\n`,
    );
  } finally {
    await env.teardown();
  }
}

function intArg(value: string | undefined, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${value}`);
  return n;
}

async function main(args: string[]): Promise<void> {
  const [command, a, b] = args;
  if (command === 'worker' && a) return worker(a);
  if (command === 'local' && a && args.length === 6) {
    const [workflows, concurrency, activities, warmUp] = args.slice(2).map((v, i) =>
      intArg(v, ['WORKFLOWS', 'CONCURRENCY', 'ACTIVITIES', 'WARM_UP'][i]),
    );
    return local(a, { workflows, concurrency, activities, idPrefix: a }, warmUp);
  }
  if (command === 'replay' && a) return replay(a, intArg(b, 'ROUNDS'));
  if (command === 'testenv') return testenv(intArg(a, 'TIMERS'));
  process.stderr.write(
    'usage: main.js worker TASK_QUEUE | local TASK_QUEUE WORKFLOWS CONCURRENCY ACTIVITIES WARM_UP | ' +
      'replay HISTORY_JSON ROUNDS | testenv TIMERS\n',
  );
  process.exit(2);
}

main(process.argv.slice(2)).then(
  // Exit explicitly: stdin and native handles would otherwise keep the process alive.
  () => process.exit(0),
  (err) => {
    process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
