/**
 * The code that runs on the worker threads of the offload pool (pool.ts): the kinds of work
 * whose cost grows with the input beyond what the event loop may spend on one request.
 * Pure: texts in, results out (structured-cloned both ways).
 */
import * as os from 'node:os';
import { diffProse, type Change } from '../../domain/diff.js';
import { loadMarkdown, renderItems, type MarkdownItem } from '../../util/markdown.js';
import { renderDocument } from '../../util/documentHtml.js';
import { findSectionIn, headingIds, linkedSectionsOf, spliceText } from '../../services/textSections.js';
import { isDomainError, type ErrorKind } from '../../domain/errors.js';
import type { Section } from '../../domain/sections.js';
import { renderParagraphs, type RenderedBlock } from '../render/paragraphs.js';
import { renderedDiff, type RenderedDiffBlock } from '../render/renderedDiff.js';
import { readWord, type WordInResult } from '../../util/wordIn.js';
import { changesDocx, textDocx, type Revisions, type WordMeta } from '../render/wordOut.js';

export type Task = (
  | { kind: 'render'; items: MarkdownItem[] }
  | { kind: 'paragraphs'; text: string; by: number }
  | { kind: 'diff'; from: string; to: string }
  | { kind: 'rdiff'; from: string; to: string; by: number }
  | { kind: 'document'; text: string; title: string }
  | { kind: 'linkedSections'; text: string }
  | { kind: 'findSection'; text: string; anchor: string }
  | { kind: 'splice'; text: string; anchor: string; replacement: string }
  | { kind: 'wordIn'; bytes: Uint8Array }
  | { kind: 'wordText'; text: string; meta: WordMeta }
  | { kind: 'wordChanges'; from: string; to: string; meta: WordMeta; revisions: Revisions }
) & {
  /** Where the thread writes when it started the task (the time limit counts from then). */
  started?: BigInt64Array;
};

// Linux keeps a priority per thread: this worker's thread yields the cores to the event loop
// (which answers everyone) whenever both want them. Elsewhere the call would lower the whole
// process, so it is made on Linux only.
if (process.platform === 'linux') {
  try {
    os.setPriority(0, 10);
  } catch {
    // Not allowed here: the thread keeps its priority.
  }
}

// The markdown renderer's packages, before the first task (util/markdown.ts).
await loadMarkdown();

/** A splice's result: the text, or the refusal (a thread passes back plain data, not an error's class). */
export type Spliced = { text: string } | { refused: { kind: ErrorKind; code: string; message: string } };

function splice(text: string, anchor: string, replacement: string): Spliced {
  try {
    return { text: spliceText(text, anchor, replacement) };
  } catch (e) {
    if (isDomainError(e)) return { refused: { kind: e.kind, code: e.code, message: e.message } };
    throw e;
  }
}

/** Piscina calls the default export with each task. */
export default function run(
  task: Task,
):
  | string
  | string[]
  | RenderedBlock[]
  | Change[]
  | RenderedDiffBlock[]
  | Section[]
  | Section
  | null
  | Spliced
  | Promise<WordInResult | Uint8Array> {
  if (task.started) Atomics.store(task.started, 0, BigInt(Date.now()));
  if (task.kind === 'render') return renderItems(task.items);
  if (task.kind === 'paragraphs') return renderParagraphs(task.text, task.by);
  if (task.kind === 'rdiff') return renderedDiff(task.from, task.to, task.by);
  if (task.kind === 'document') return renderDocument(task.text, task.title, headingIds(task.text));
  if (task.kind === 'linkedSections') return linkedSectionsOf(task.text);
  if (task.kind === 'findSection') return findSectionIn(task.text, task.anchor);
  if (task.kind === 'splice') return splice(task.text, task.anchor, task.replacement);
  if (task.kind === 'wordIn') return readWord(task.bytes);
  if (task.kind === 'wordText') return textDocx(task.text, task.meta);
  if (task.kind === 'wordChanges') return changesDocx(task.from, task.to, task.meta, task.revisions);
  return diffProse(task.from, task.to);
}
