import { diffProse, type Change } from '../domain/diff.js';
import type { Ctx } from './context.js';

/**
 * The prose diff from `from` to `to`: through the app's bounded worker pool and cache when the
 * context carries one (`ctx.diff`), else inline. Every service diffs through here.
 */
export function diffTexts(ctx: Ctx, from: string, to: string): Promise<Change[]> {
  return ctx.diff ? ctx.diff(from, to) : Promise.resolve(diffProse(from, to));
}
