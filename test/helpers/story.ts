/**
 * Tests that tell one story (each step builds on the state the previous ones left) and still
 * run on their own: `jest -t 'close'` runs the steps before the chosen one first, as part of it.
 * In a full run each step runs once, in order.
 */
import { test } from '@jest/globals';

export function story() {
  const steps: { fn: () => unknown; done?: Promise<void> }[] = [];
  const run = (i: number): Promise<void> => {
    const s = steps[i];
    s.done ??= (async () => {
      if (i > 0) await run(i - 1);
      await s.fn();
    })();
    return s.done;
  };
  /** A step of the story: a test that first brings the story up to it. */
  return (name: string, fn: () => unknown, timeout?: number) => {
    const i = steps.push({ fn }) - 1;
    test(name, () => run(i), timeout);
  };
}
