// The package (express's own) ships no types.
declare module 'proxy-addr' {
  /** A function that says whether the hop at `addr` (the `i`-th from the server) is trusted. */
  function compile(val: string | string[]): (addr: string, i: number) => boolean;
  const proxyaddr: { compile: typeof compile };
  export default proxyaddr;
}
