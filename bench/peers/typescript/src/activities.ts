// The contract's one activity: `step(n) -> n + 1`.
export async function step(n: number): Promise<number> {
  return n + 1;
}
