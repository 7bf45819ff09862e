import { conflict } from './errors.js';

/**
 * A proposal's life: draft (its group, the chair and the secretariat) → shared (all members)
 * → consolidated (when a version including it is published); withdrawn from draft or shared.
 */
export type ProposalState = 'draft' | 'shared' | 'consolidated' | 'withdrawn';

/** The text can change only while draft or shared, and never while a round is open on it. */
export function assertEditable(state: ProposalState, roundOpen: boolean): void {
  if (state !== 'draft' && state !== 'shared') throw conflict('not_editable', `A ${state} proposal cannot be edited.`);
  if (roundOpen)
    throw conflict(
      'frozen',
      'An approval round is open on this text: it cannot change until the round closes or is cancelled.',
    );
}

export function assertShareable(state: ProposalState): void {
  if (state === 'shared') throw conflict('already_shared', 'This proposal is already shared with all members.');
  if (state !== 'draft') throw conflict('not_shareable', `A ${state} proposal cannot be shared.`);
}

export function assertWithdrawable(state: ProposalState, roundOpen: boolean): void {
  if (state === 'withdrawn') throw conflict('already_withdrawn', 'This proposal is already withdrawn.');
  if (state === 'consolidated')
    throw conflict(
      'not_withdrawable',
      'A consolidated proposal is part of a published version and cannot be withdrawn.',
    );
  if (roundOpen) throw conflict('round_open', 'An approval round is open on this proposal; cancel it first.');
}

/** Comments may be added while the text is still under discussion. */
export function assertCommentable(state: ProposalState | 'open' | 'published' | 'abandoned'): void {
  if (state === 'withdrawn' || state === 'abandoned')
    throw conflict('closed_for_comments', `Comments are closed: it is ${state}.`);
}
