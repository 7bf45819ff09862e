// Jest setupFiles: keep one AsyncLocalStorage in use per worker, not one per test file it has run.
//
// jest-circus loads its test-context module afresh for each test file, and each copy creates an
// AsyncLocalStorage that it enables and never disables. On Node 20, each enabled store is visited
// for every promise and every other async resource the process creates, so a worker's 40th file
// paid for 40 stores on each `await`: 11 % of the whole run's CPU went to that visit alone.
// A test file starts only when the previous one in its worker has finished, so the stores made
// before it are no longer read: they are disabled here, as each file starts.
import { AsyncLocalStorage } from 'node:async_hooks';

const seen = Symbol.for('ratify.tests.asyncLocalStorages');
const proto = AsyncLocalStorage.prototype;
if (!proto[seen]) {
  const stores = new Set();
  proto[seen] = stores;
  for (const method of ['run', 'enterWith']) {
    const original = proto[method];
    proto[method] = function remembered(...args) {
      stores.add(this);
      return original.apply(this, args);
    };
  }
}
for (const store of proto[seen]) store.disable();
proto[seen].clear();
