import type { z } from 'zod';
import { AuditQuery } from './account.js';
import { ApplySuggestionBody, ApplySuggestionsBody, CommentBody, CommentIdParams } from './comments.js';
import {
  AttributionResponse,
  CreateConsolidationBody,
  PublishBody,
  ReviseConsolidationBody,
} from './consolidations.js';
import { IdParams } from './fields.js';
import {
  CreateProposalBody,
  ProposalDiffQuery,
  ReviseProposalBody,
  ReviseSectionBody,
  SectionParams,
  WordProposalQuery,
} from './proposals.js';
import { DocumentDiffQuery, SlugParams, VersionParams } from './public.js';
import {
  BallotBody,
  CancelRoundBody,
  ExtendRoundBody,
  OpenRoundBody,
  RecusalBody,
  RoundsQuery,
  WithdrawRecusalBody,
  WithdrawRecusalQuery,
} from './rounds.js';
import { StakeholderBody } from './stakeholders.js';
import { TokenBody } from './tokens.js';
import { DOCX_TYPE } from '../../util/wordIn.js';

/**
 * Every schema of the JSON API's input, by area, and the table of routes that use them — what
 * an OpenAPI document (`/api/v1/openapi.json`) is to be generated from. The routes in
 * `http/api/` parse with these and nothing else; test/http/apiSchemas.test.ts checks that the
 * table names every API route and that each schema converts to JSON Schema.
 */
export * from './account.js';
export * from './comments.js';
export * from './consolidations.js';
export * from './fields.js';
export * from './proposals.js';
export * from './public.js';
export * from './rounds.js';
export * from './settings.js';
export * from './stakeholders.js';
export * from './tokens.js';

export interface ApiRoute {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Express's path under /api/v1. */
  path: string;
  params?: z.ZodType;
  query?: z.ZodType;
  /** The JSON body; absent: the route reads none. */
  body?: z.ZodType;
  /** The answer's body, where a schema describes it (in the OpenAPI document). */
  response?: z.ZodType;
  /** The media type of a body that is a file, sent as it is (not JSON). */
  upload?: string;
}

const commentRoutes = (base: string): ApiRoute[] => [
  { method: 'get', path: `${base}/:id/comments`, params: IdParams },
  { method: 'post', path: `${base}/:id/comments`, params: IdParams, body: CommentBody },
  { method: 'post', path: `${base}/:id/comments/:cid/resolve`, params: CommentIdParams },
  { method: 'post', path: `${base}/:id/comments/:cid/reopen`, params: CommentIdParams },
];

export const API_ROUTES: readonly ApiRoute[] = [
  // Public
  { method: 'get', path: '/documents' },
  { method: 'get', path: '/documents/:slug', params: SlugParams },
  { method: 'get', path: '/documents/:slug/versions', params: SlugParams },
  { method: 'get', path: '/documents/:slug/versions/:n', params: VersionParams },
  { method: 'get', path: '/documents/:slug/versions/:n/decision', params: VersionParams },
  { method: 'get', path: '/documents/:slug/versions/:n/provenance', params: VersionParams },
  { method: 'get', path: '/documents/:slug/diff', params: SlugParams, query: DocumentDiffQuery },
  { method: 'get', path: '/stakeholders' },
  // Self, audit, tokens
  { method: 'get', path: '/me' },
  { method: 'get', path: '/audit', query: AuditQuery },
  { method: 'post', path: '/tokens', body: TokenBody },
  // Proposals
  { method: 'post', path: '/documents/:slug/proposals', params: SlugParams, body: CreateProposalBody },
  {
    method: 'post',
    path: '/documents/:slug/proposals/docx',
    params: SlugParams,
    query: WordProposalQuery,
    upload: DOCX_TYPE,
  },
  { method: 'get', path: '/proposals/:id', params: IdParams },
  { method: 'put', path: '/proposals/:id/text', params: IdParams, body: ReviseProposalBody },
  { method: 'get', path: '/proposals/:id/sections/:anchor', params: SectionParams },
  { method: 'put', path: '/proposals/:id/sections/:anchor', params: SectionParams, body: ReviseSectionBody },
  { method: 'get', path: '/proposals/:id/diff', params: IdParams, query: ProposalDiffQuery },
  { method: 'post', path: '/proposals/:id/share', params: IdParams },
  { method: 'post', path: '/proposals/:id/withdraw', params: IdParams },
  ...commentRoutes('/proposals'),
  { method: 'post', path: '/proposals/:id/comments/:cid/apply', params: CommentIdParams, body: ApplySuggestionBody },
  { method: 'post', path: '/proposals/:id/suggestions/apply', params: IdParams, body: ApplySuggestionsBody },
  // Consolidations
  { method: 'post', path: '/documents/:slug/consolidations', params: SlugParams, body: CreateConsolidationBody },
  { method: 'get', path: '/consolidations/:id', params: IdParams },
  { method: 'get', path: '/consolidations/:id/diff', params: IdParams },
  { method: 'get', path: '/consolidations/:id/attribution', params: IdParams, response: AttributionResponse },
  { method: 'put', path: '/consolidations/:id/text', params: IdParams, body: ReviseConsolidationBody },
  { method: 'post', path: '/consolidations/:id/abandon', params: IdParams },
  { method: 'post', path: '/consolidations/:id/rebuild', params: IdParams },
  { method: 'post', path: '/consolidations/:id/publish', params: IdParams, body: PublishBody },
  ...commentRoutes('/consolidations'),
  // Rounds
  { method: 'get', path: '/rounds', query: RoundsQuery },
  { method: 'post', path: '/rounds', body: OpenRoundBody },
  { method: 'get', path: '/rounds/:id', params: IdParams },
  { method: 'post', path: '/rounds/:id/ballots', params: IdParams, body: BallotBody },
  { method: 'post', path: '/rounds/:id/recusals', params: IdParams, body: RecusalBody },
  {
    method: 'delete',
    path: '/rounds/:id/recusals',
    params: IdParams,
    query: WithdrawRecusalQuery,
    body: WithdrawRecusalBody,
  },
  { method: 'post', path: '/rounds/:id/close', params: IdParams },
  { method: 'post', path: '/rounds/:id/extend', params: IdParams, body: ExtendRoundBody },
  { method: 'post', path: '/rounds/:id/cancel', params: IdParams, body: CancelRoundBody },
  // Stakeholder groups
  { method: 'post', path: '/stakeholders', body: StakeholderBody },
];
