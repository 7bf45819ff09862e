import { Pins } from '../pins.js';
import { BODY_REF, type DetachedBodies, type DetachSpec } from './detachedBodies.js';

/** What `DetachedFields` asks of the store. */
export interface DetachHost {
  /** A record as the store holds it now. */
  get(kind: string, id: string): Record<string, unknown> | undefined;
  /** How many records name the body file `name` (the `bodyFile` index). */
  naming(name: string): number;
  log(message: string, e?: unknown): void;
}

/** The records' puts and dels of a change, as `DetachedFields` reads and rewrites them. */
export interface FieldsChange {
  puts?: Partial<Record<string, Record<string, unknown>>>;
  dels?: Partial<Record<string, string[]>>;
}

/**
 * A store's records with fields kept in files (`detachedBodies.ts`): a change's fields moved into
 * a file before it is written, the files a change stops naming removed after it (not while a
 * backup copies them), a record's fields read back, and the files no record names removed at
 * the start. The store (`MetaStore`, opened with `detach`) keeps one.
 */
export class DetachedFields {
  /** Backups copying now (`pin`), and the body files to remove once they are done. */
  private readonly pins = new Pins();
  private readonly toRemove = new Set<string>();
  /** The removal of body files no record names, once the records are read (`sweep`). */
  private swept: Promise<void> = Promise.resolve();

  constructor(
    readonly spec: DetachSpec,
    private readonly bodies: DetachedBodies,
    private readonly host: DetachHost,
  ) {}

  /** Whether some record names the body file `name`. */
  names(name: string): boolean {
    return this.host.naming(name) > 0;
  }

  /** Body files the records of `change` name now and will not name after it (removed once no record does: `release`). */
  releasedBy(change: FieldsChange): string[] {
    const { kind } = this.spec;
    const puts = (change.puts?.[kind] ?? {}) as Record<string, Record<string, unknown> | undefined>;
    const dels = change.dels?.[kind] ?? [];
    const out = new Set<string>();
    for (const id of [...Object.keys(puts), ...dels]) {
      const before = this.host.get(kind, id)?.[BODY_REF];
      const after = Object.hasOwn(puts, id) ? puts[id]?.[BODY_REF] : undefined;
      if (typeof before === 'string' && before !== after) out.add(before);
    }
    return [...out];
  }

  /**
   * `change` with the detached fields of the records it puts moved into one new file, written
   * durably first: those records carry empty fields and the file's name. Records without such
   * fields (a state change of a message already detached) are left as they are.
   */
  async detach<C extends FieldsChange>(change: C): Promise<C> {
    const { spec, bodies } = this;
    const puts = change.puts?.[spec.kind] as Record<string, Record<string, unknown>> | undefined;
    if (!puts) return change;
    const moved: Record<string, Record<string, string>> = {};
    for (const [id, r] of Object.entries(puts)) {
      const fields = spec.fields.filter((f) => typeof r[f] === 'string' && r[f] !== '');
      if (fields.length) moved[id] = Object.fromEntries(spec.fields.map((f) => [f, String(r[f] ?? '')]));
    }
    if (!Object.keys(moved).length) return change;
    const name = bodies.newName();
    await bodies.write(name, moved);
    const emptied = Object.fromEntries(spec.fields.map((f) => [f, '']));
    const next: Record<string, Record<string, unknown>> = {};
    for (const [id, r] of Object.entries(puts)) next[id] = moved[id] ? { ...r, ...emptied, [BODY_REF]: name } : r;
    return { ...change, puts: { ...change.puts, [spec.kind]: next } };
  }

  /** Remove the body files `names` that no record names (after the backups copying now, if any). */
  async release(names: readonly string[]): Promise<void> {
    for (const name of names) await this.remove(name);
  }

  private async remove(name: string): Promise<void> {
    if (this.names(name)) return;
    if (this.pins.held) {
      // Removed once the last backup is done.
      if (!this.toRemove.size) void this.pins.free().then(() => this.removeWaiting());
      this.toRemove.add(name);
      return;
    }
    await this.bodies.remove(name).catch((e) => this.host.log('A detached body file could not be removed', e));
  }

  /**
   * Keep every body file until the function returned is called: a backup notes the files under
   * its hold and copies them afterwards. Removals asked for meanwhile happen then.
   */
  pin(): () => void {
    return this.pins.hold();
  }

  private removeWaiting(): void {
    const names = [...this.toRemove];
    this.toRemove.clear();
    for (const name of names) void this.remove(name);
  }

  /**
   * `record` with its detached fields read back from their file (the record itself when it has
   * none). A file that should be there and is not is an error: the message is never sent empty.
   */
  async read<R>(kind: string, record: R): Promise<R> {
    const name = (record as Record<string, unknown>)[BODY_REF];
    if (kind !== this.spec.kind || typeof name !== 'string') return record;
    const id = String((record as { id?: unknown }).id);
    const fields = await this.bodies.read(name, id);
    if (!fields) throw new Error(`The text of ${kind}/${id} is missing: its body file ${name} is not there`);
    return { ...record, ...fields };
  }

  /** The names of the body files there are (listed at open: a file written since is not among them). */
  list(): Promise<string[]> {
    return this.bodies.list();
  }

  /**
   * Remove, beside the requests, those of `names` that no record names: files a crash left
   * between their write and their change's. Called once the records are all read.
   */
  sweep(names: readonly string[]): void {
    const orphans = names.filter((name) => !this.names(name));
    this.swept = this.swept
      .then(async () => {
        for (const name of orphans) await this.bodies.remove(name);
      })
      .catch((e) => this.host.log('A body file no message names could not be removed', e));
  }

  /** Resolves once the removals `sweep` started are done (the store's close). */
  settled(): Promise<void> {
    return this.swept;
  }
}
