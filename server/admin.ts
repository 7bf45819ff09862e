/**
 * The admin command line's entry (`npm run admin`): the commands of server/cli, given what they
 * need from above their layer — the public pages as a reader gets them, for `export`, loaded
 * only by that command (the whole web app is not what every other command should start with).
 */
import { runCli } from './cli/main.js';
import { loadConfig } from './config.js';

await runCli({
  sitePages: async (ctx, baseUrl) =>
    (await import('./sitePages.js')).sitePagesFor({ siteName: loadConfig().siteName })(ctx, baseUrl),
});
