/**
 * The admin command line's entry (`npm run admin`): the commands of server/cli, given what they
 * need from above their layer — the public pages as a reader gets them, for `export`.
 */
import { runCli } from './cli/main.js';
import { loadConfig } from './config.js';
import { sitePagesFor } from './sitePages.js';

await runCli({
  sitePages: (ctx, baseUrl) => sitePagesFor({ siteName: loadConfig().siteName })(ctx, baseUrl),
});
