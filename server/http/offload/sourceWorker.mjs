// The offload pool's thread when the server runs from its sources (tsx: `npm run dev`, the
// bench): node 20 does not hand a loader given in a worker's execArgv (`--import tsx`) on to the
// thread, so this file, plain JavaScript, registers tsx's loader in the thread itself and hands
// piscina worker.ts's task function. A built server runs dist/worker.js instead (pool.ts).
import { register } from 'tsx/esm/api';

register();
const { default: run } = await import('./worker.ts');
export default run;
