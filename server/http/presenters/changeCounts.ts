import type { Change } from '../../domain/diff.js';

/** How many passages a diff inserts and deletes (the counts shown above a diff). */
export const changeCounts = (changes: Change[]) => ({
  inserted: changes.filter((c) => c.op === 'insert').length,
  deleted: changes.filter((c) => c.op === 'delete').length,
});
