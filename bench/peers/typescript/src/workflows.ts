// The contract's workflows. This module runs inside the worker's workflow sandbox (bundled with
// webpack), so it may import only `@temporalio/workflow` and the activities' *types*. The wire
// names are the exported function names.
import { proxyActivities, sleep } from '@temporalio/workflow';
import type * as activities from './activities';

const { step } = proxyActivities<typeof activities>({ startToCloseTimeout: '30 seconds' });

/** `activities` sequential `step` activities, threading the counter through. */
export async function BenchSequential(activities: number): Promise<number> {
  let n = 0;
  for (let i = 0; i < activities; i++) {
    n = await step(n);
  }
  return n;
}

/** One timer of a day, then done. */
export async function BenchIdle(): Promise<void> {
  await sleep('1 day');
}

/** `timers` sequential timers of `eachSecs` seconds each. */
export async function BenchTimers(timers: number, eachSecs: number): Promise<number> {
  for (let i = 0; i < timers; i++) {
    await sleep(eachSecs * 1000);
  }
  return timers;
}
