/**
 * Work written as a generator that pauses (`yield`) between slices: run it straight through, or
 * beside the event loop, a slice at a time.
 */

/** Run `steps` to their end at once. */
export function runThrough<T>(steps: Generator<void, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * Run `steps` beside the event loop: about 10 ms of them, then a turn of the loop (its longest
 * hold is one slice). Resolves to null if `stop` says so at a turn.
 */
export async function runBeside<T>(steps: Generator<void, T>, stop: () => boolean): Promise<T | null> {
  for (;;) {
    const until = performance.now() + 10;
    do {
      const step = steps.next();
      if (step.done) return step.value;
    } while (performance.now() < until);
    await new Promise((resolve) => setImmediate(resolve));
    if (stop()) return null;
  }
}
