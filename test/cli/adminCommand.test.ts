/**
 * The admin command lines the server and the CLI print for an operator to paste: DATA_DIR in
 * front (absolute, quoted for the shell when needed) unless it is the project's own ./data.
 * And the platforms the server and the CLI refuse to start on, by name.
 */
import { describe, expect, test } from '@jest/globals';
import { adminCommand, firstAccountCommand, shellWord, unsupportedPlatform } from '../../server/config.js';

describe('cli/adminCommand', () => {
  describe('adminCommand', () => {
    test("the project's own ./data needs no DATA_DIR", () => {
      expect(adminCommand('/opt/ratify/data', 'init', '/opt/ratify')).toBe('npm run admin -- init');
      expect(adminCommand('/opt/ratify/./data', 'user list', '/opt/ratify')).toBe('npm run admin -- user list');
    });

    test('any other folder is named by its absolute path', () => {
      expect(adminCommand('/srv/ratify/data', 'init', '/opt/ratify')).toBe(
        'DATA_DIR=/srv/ratify/data npm run admin -- init',
      );
      expect(adminCommand("/srv/the committee's data", 'init', '/opt/ratify')).toBe(
        `DATA_DIR='/srv/the committee'\\''s data' npm run admin -- init`,
      );
    });

    test('the first account: the password on standard input, never in the arguments', () => {
      expect(firstAccountCommand('/srv/ratify/data', '/opt/ratify')).toBe(
        "echo 'a long passphrase' | DATA_DIR=/srv/ratify/data npm run admin -- user add --email you@example.org --name 'Your Name' --role secretariat --password-stdin",
      );
    });

    test('shellWord leaves plain words alone and quotes the rest', () => {
      expect(shellWord('/tmp/a-b_c.d')).toBe('/tmp/a-b_c.d');
      expect(shellWord('a b')).toBe("'a b'");
      expect(shellWord('$HOME')).toBe("'$HOME'");
      expect(shellWord('')).toBe("''");
    });
  });

  describe('unsupportedPlatform', () => {
    test('Windows is refused by name; Linux, macOS and the BSDs run', () => {
      expect(unsupportedPlatform('win32')).toMatch(/Windows \(win32\)/);
      for (const p of ['linux', 'darwin', 'freebsd', 'openbsd'] as const) expect(unsupportedPlatform(p)).toBeNull();
    });
  });
});
