/**
 * The code that runs on the worker threads of the offload pool (pool.ts): the two kinds of
 * work whose cost grows with the input beyond what the event loop may spend on one request.
 * Pure: texts in, results out (structured-cloned both ways).
 */
import { diffProse, type Change } from '../../domain/diff.js';
import { renderItems, type MarkdownItem } from '../render/markdown.js';

export type Task = { kind: 'render'; items: MarkdownItem[] } | { kind: 'diff'; from: string; to: string };
export type TaskResult<T extends Task> = T extends { kind: 'render' } ? string[] : Change[];

/** Piscina calls the default export with each task. */
export default function run(task: Task): string[] | Change[] {
  return task.kind === 'render' ? renderItems(task.items) : diffProse(task.from, task.to);
}
