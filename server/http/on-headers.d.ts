// The package ships no types (and the registry's @types/on-headers is another package's).
declare module 'on-headers' {
  import type { ServerResponse } from 'node:http';
  /** Runs `listener` once, just before the response's headers are written. */
  export default function onHeaders(res: ServerResponse, listener: (this: ServerResponse) => void): void;
}
