// One part of `npm test`: scripts/testParts.mjs says which test files it runs, and why in parts.
import { runPart } from '../../scripts/testParts.mjs';

await runPart(import.meta.url);
