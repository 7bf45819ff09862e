import * as fs from 'node:fs';
import * as net from 'node:net';

/** A small seeded PRNG (mulberry32) so that a failing sequence can be replayed from its seed. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The first port the kernel hands out to outgoing connections (Linux: 32768 unless configured).
 * A port chosen among those could be taken by any test's client socket (fetch, supertest, SMTP)
 * between the check below and the server's own listen: a compiled server once failed its start
 * with EADDRINUSE that way in CI.
 */
function ephemeralLow(): number {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 11000 ? low : 32768;
  } catch {
    return 32768;
  }
}
const LOW = ephemeralLow();

/** A port nothing listens on right now (on 127.0.0.1), below the ports outgoing connections take. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 10000 + Math.floor(Math.random() * (LOW - 10000));
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
}
