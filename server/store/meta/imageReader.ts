import * as fs from 'node:fs';

/** Bytes read at a time, and how many such blocks are kept (1 MB: a proposal page reads the places of a few hundred comments). */
const BLOCK = 4096;
const BLOCKS_KEPT = 256;

/**
 * An open image of a cold table (`coldState.ts`), read by position instead of held in memory
 * (issue 18: at ten years the messages' places and key tables were ~21 MB of the resident memory,
 * at thirty three times that, for lookups that touch a few pages). The file is never changed in
 * place: a newer image replaces it by a rename, and this descriptor goes on reading the one the
 * store opened with, whose state it is. The last blocks read are kept.
 */
export class ImageReader {
  private readonly blocks = new Map<number, Buffer>();
  private closed = false;

  constructor(private readonly fd: number) {}

  /** The block `no` of the file (kept: the one read last goes last). */
  private block(no: number): Buffer {
    const had = this.blocks.get(no);
    if (had) {
      this.blocks.delete(no);
      this.blocks.set(no, had);
      return had;
    }
    const b = this.read(no * BLOCK, BLOCK, true);
    this.blocks.set(no, b);
    if (this.blocks.size > BLOCKS_KEPT) this.blocks.delete(this.blocks.keys().next().value!);
    return b;
  }

  /**
   * `length` bytes from `position` (fewer only at the end of the file when `short` is allowed), in
   * memory of their own (never node's shared pool), so a typed array can be laid over them as they are.
   */
  read(position: number, length: number, short = false): Buffer {
    if (this.closed) throw new Error('The image was closed');
    const into = Buffer.allocUnsafeSlow(length);
    let got = 0;
    while (got < length) {
      const n = fs.readSync(this.fd, into, got, length - got, position + got);
      if (n === 0) {
        if (short) return into.subarray(0, got);
        throw new Error('A cold image ended before the place it should hold');
      }
      got += n;
    }
    return into;
  }

  /** The number of `size` bytes (2, 4 or 8: unsigned 16 and 32 bits, or a double) at `position`. */
  number(position: number, size: 2 | 4 | 8): number {
    const no = Math.floor(position / BLOCK);
    const at = position - no * BLOCK;
    // The arrays start at multiples of 8, so a number never straddles two blocks.
    const b = this.block(no);
    if (at + size > b.length) throw new Error('A cold image ended before the place it should hold');
    return size === 2 ? b.readUInt16LE(at) : size === 4 ? b.readUInt32LE(at) : b.readDoubleLE(at);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.blocks.clear();
    fs.closeSync(this.fd);
  }
}

/** A typed array kept in an image: `n` numbers of `size` bytes from `position`. */
export class ImageColumn {
  constructor(
    private readonly image: ImageReader,
    private readonly position: number,
    readonly length: number,
    private readonly size: 2 | 4 | 8,
  ) {}

  /** The number at `i` (undefined outside the column, as a typed array's `at`). */
  at(i: number): number | undefined {
    if (i < 0 || i >= this.length) return undefined;
    return this.image.number(this.position + i * this.size, this.size);
  }

  /** The numbers from `from` to `to` (read into an array of the column's kind, of their own). */
  subarray(from: number, to: number): Uint16Array | Uint32Array | Float64Array {
    const a = Math.max(0, Math.min(from, this.length));
    const b = Math.max(a, Math.min(to, this.length));
    const buffer = this.image.read(this.position + a * this.size, (b - a) * this.size).buffer as ArrayBuffer;
    const Kind = this.size === 2 ? Uint16Array : this.size === 4 ? Uint32Array : Float64Array;
    return new Kind(buffer, 0, b - a);
  }
}
