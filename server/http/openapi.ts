import { z } from 'zod';
import { API_ROUTES, type ApiRoute } from './schemas/index.js';

/**
 * The OpenAPI 3.1 description of the JSON API, made from the very schemas the routes parse
 * with (server/http/schemas) and their route table — so it cannot drift from what the server
 * accepts. Answers are described by status; their bodies are in docs/API.md, and by a schema
 * where the route table gives one (`response`).
 */

const ERROR = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        fields: {
          type: 'array',
          items: {
            type: 'object',
            required: ['path', 'code', 'message'],
            properties: { path: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } },
          },
        },
      },
    },
  },
} as const;

const json = (schema: z.ZodType, io: 'input' | 'output' = 'input') => {
  const s = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete s.$schema;
  return s;
};

/** Path and query parameters from an object schema. */
function parameters(schema: z.ZodType | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  const s = json(schema) as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, p]) => ({
    name,
    in: where,
    required: where === 'path' || (s.required ?? []).includes(name),
    schema: p,
  }));
}

const PUBLIC_READS = /^\/(documents|stakeholders)/;

function operation(r: ApiRoute) {
  const writes = r.method !== 'get';
  const responses: Record<string, object> = {
    [r.method === 'post' && !/\/(share|withdraw|close|abandon|rebuild|resolve|reopen|extend|cancel|apply)$/.test(r.path)
      ? '201'
      : '200']: {
      description: 'Done',
      content: { 'application/json': r.response ? { schema: json(r.response, 'output') } : {} },
    },
    '400': {
      description: 'Bad input: every problem in error.fields',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    },
    '401': {
      description: 'No or unknown token',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    },
    '403': {
      description: 'Not allowed',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    },
    '404': {
      description: 'No such thing, or not visible to you',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    },
    ...(r.upload
      ? {
          '200': {
            description: 'With dryRun=1: the text read from the file and its diff; nothing saved',
            content: { 'application/json': {} },
          },
          '413': {
            description: 'The file is too large',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
        }
      : {}),
    ...(writes
      ? {
          '409': {
            description: 'Conflict with the current state',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
        }
      : {}),
  };
  return {
    operationId: `${r.method}${r.path.replace(/\/:?([a-z]+)/g, (_m, w: string) => w[0].toUpperCase() + w.slice(1))}`,
    parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
    ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: json(r.body) } } } } : {}),
    ...(r.upload
      ? { requestBody: { required: true, content: { [r.upload]: { schema: { type: 'string', format: 'binary' } } } } }
      : {}),
    ...(r.method === 'get' && PUBLIC_READS.test(r.path) ? { security: [] } : {}),
    responses,
  };
}

let cached: object | null = null;

export function openApiDocument(): object {
  if (cached) return cached;
  const paths: Record<string, Record<string, object>> = {};
  for (const r of API_ROUTES) {
    const p = r.path.replace(/:([A-Za-z]+)/g, '{$1}');
    (paths[p] ??= {})[r.method] = operation(r);
  }
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'Ratify',
      version: '1',
      description:
        'The JSON API of a Ratify server. Errors are {"error":{"code","message","fields?"}}; see docs/API.md.',
    },
    servers: [{ url: '/api/v1' }],
    security: [{ bearer: [] }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: { Error: ERROR } },
    paths,
  };
  return cached;
}
