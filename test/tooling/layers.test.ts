/**
 * `npm run layers` (scripts/layers.mjs over .dependency-cruiser.cjs) on a small tree made here:
 * a wrong import fails it, naming the rule, the file and the import; a type-only import of the
 * store from http is allowed, a value import is not; a node builtin in the domain fails unless
 * it is imported for types only.
 */
import { describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

describe('tooling/layers', () => {
  const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/layers.mjs');

  const TREE: Record<string, string> = {
    'server/domain/rule.ts':
      "import type { Hash } from 'node:crypto';\nexport type H = Hash;\nexport const rule = 1;\n",
    'server/domain/clock.ts': "import { randomBytes } from 'node:crypto';\nexport const r = randomBytes;\n",
    'server/store/records.ts':
      "import { rule } from '../domain/rule.js';\nexport type Rec = { id: number };\nexport const key = () => rule;\n",
    'server/services/read.ts':
      "import { key } from '../store/records.js';\nimport { sendError } from '../http/errors.js';\nexport const read = [key, sendError];\n",
    'server/http/errors.ts': 'export const sendError = () => 0;\n',
    'server/http/typed.ts':
      "import type { Rec } from '../store/records.js';\nimport { type Rec as R2 } from '../store/records.js';\nexport const f = (r: Rec, s: R2) => [r, s];\n",
    'server/http/valued.ts': "import { key } from '../store/records.js';\nexport const k = key;\n",
  };

  function run(cwd: string): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [script, '--root', cwd], { timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
      });
    });
  }

  test('a wrong import fails the layer check; type-only imports across a layer pass', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ratify-layers-'));
    try {
      for (const [file, text] of Object.entries(TREE)) {
        await fsp.mkdir(path.join(dir, path.dirname(file)), { recursive: true });
        await fsp.writeFile(path.join(dir, file), text);
      }
      const { code, out } = await run(dir);
      expect(code).not.toBe(0);
      const errors = out.split('\n').filter((l) => l.trim().startsWith('error '));
      expect(errors.map((l) => l.trim()).sort()).toEqual([
        'error domain-no-node-values: server/domain/clock.ts → crypto',
        'error http-no-store-values: server/http/valued.ts → server/store/records.ts',
        'error services-import-below-only: server/services/read.ts → server/http/errors.ts',
      ]);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
