/**
 * The server's node flags have one home, package.json's `start`: the tests and the bench start
 * the server with them (test/helpers/bin.ts, bench/prodServer.ts), and the systemd unit in
 * docs/DEPLOY.md must give node the same ones, or a deployed server would run differently
 * from the one measured (a heap cap, for one, changes both its memory and its latency).
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../helpers/data.js';
import { startFlags } from '../helpers/bin.js';

describe('docs/startCommand', () => {
  test('the systemd unit in docs/DEPLOY.md starts the server with the node flags of npm start', () => {
    const deploy = readFileSync(path.join(projectRoot, 'docs', 'DEPLOY.md'), 'utf8');
    const exec = /^ExecStart=(\S+) (.*) dist\/main\.js$/m.exec(deploy);
    expect(exec).not.toBeNull();
    expect(exec![2].split(/\s+/)).toEqual(startFlags());
    expect(startFlags()).toContain('--enable-source-maps');
  });
});
