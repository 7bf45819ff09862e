import type { ImageReader } from './imageReader.js';

/** Ids a page of `PagedPlaces` holds. */
export const PAGE = 4096;

/**
 * One page of `PagedPlaces`: 4,096 ids. Offsets are 32-bit numbers while the file is under 4 GiB
 * and lengths 16-bit while lines are under 64 KB; a page whose number does not fit is widened
 * (8 and 4 bytes). At ten years, 6 of the 12 bytes an id took (the messages' 670 MB file, lines of
 * ~450 bytes).
 */
export interface Page {
  offsets: Uint32Array | Float64Array;
  lengths: Uint16Array | Uint32Array;
  /** While the table is read: each id's keys' parts, from the row that placed it. */
  keys: Int32Array | null;
}

/** A page left in an image file (`coldState.ts`): where its offsets and its lengths are, and their widths. */
export interface ImagePage {
  offsetsAt: number;
  offsetBytes: 4 | 8;
  lengthsAt: number;
  lengthBytes: 2 | 4;
}

/**
 * Where each id's line is in a cold records file (its offset + 1, 0: not there, and its length),
 * in pages of 4,096 ids made as ids reach them: 6 bytes an id where ids are dense (numbered from
 * 1, as the store numbers them), nothing for the gaps between.
 *
 * Places had from an image leave their pages in the image file (`ImageReader`) and read a number
 * where it is asked for; a page is read into memory only when one of its ids is placed anew (a
 * record put again, or removed), and kept there from then on.
 */
export class PagedPlaces {
  private readonly pages = new Map<number, Page>();
  /** Pages still in the image file, by number (none when the places were not had from an image). */
  private readonly inImage = new Map<number, ImagePage>();
  private image: ImageReader | null = null;
  /** The page numbers, ascending. */
  private order: number[] = [];

  /** Places made from pages kept in an image (`coldState.ts`), given in ascending order. */
  static fromPages(pages: Iterable<readonly [number, Page]>): PagedPlaces {
    const places = new PagedPlaces();
    for (const [no, page] of pages) {
      places.pages.set(no, page);
      places.order.push(no);
    }
    return places;
  }

  /** Places whose pages stay in the image `image` read from, where `pages` says (in ascending order). */
  static inImage(image: ImageReader, pages: Iterable<readonly [number, ImagePage]>): PagedPlaces {
    const places = new PagedPlaces();
    places.image = image;
    for (const [no, page] of pages) {
      places.inImage.set(no, page);
      places.order.push(no);
    }
    return places;
  }

  /** A page as the image holds it, read into memory of its own (not kept here). */
  private readPage(page: ImagePage): Page {
    const image = this.image!;
    const bytes = (at: number, size: number) => image.read(at, PAGE * size).buffer as ArrayBuffer;
    return {
      offsets:
        page.offsetBytes === 8 ? new Float64Array(bytes(page.offsetsAt, 8)) : new Uint32Array(bytes(page.offsetsAt, 4)),
      lengths:
        page.lengthBytes === 4 ? new Uint32Array(bytes(page.lengthsAt, 4)) : new Uint16Array(bytes(page.lengthsAt, 2)),
      keys: null,
    };
  }

  /** The page `no`, in memory or read from the image (then not kept), or undefined. */
  private pageToRead(no: number): Page | undefined {
    const page = this.pages.get(no);
    if (page) return page;
    const left = this.inImage.get(no);
    return left ? this.readPage(left) : undefined;
  }

  /** The pages in ascending order (for an image: not to be changed). */
  *eachPage(): Generator<readonly [number, Page]> {
    for (const no of this.order) yield [no, this.pageToRead(no)!];
  }

  get pageCount(): number {
    return this.order.length;
  }

  offset(id: number): number {
    const no = Math.floor(id / PAGE);
    const page = this.pages.get(no);
    if (page) return page.offsets[id % PAGE];
    const left = this.inImage.get(no);
    return left ? this.image!.number(left.offsetsAt + (id % PAGE) * left.offsetBytes, left.offsetBytes) : 0;
  }

  length(id: number): number {
    const no = Math.floor(id / PAGE);
    const page = this.pages.get(no);
    if (page) return page.lengths[id % PAGE];
    const left = this.inImage.get(no);
    return left ? this.image!.number(left.lengthsAt + (id % PAGE) * left.lengthBytes, left.lengthBytes) : 0;
  }

  /** The page `set` used last, and its number (ids come mostly in order: 1.6 million rows at ten years). */
  private lastPage: Page | undefined;
  private lastNo = -1;

  set(id: number, offset: number, length: number): void {
    const no = Math.floor(id / PAGE);
    let page = no === this.lastNo ? this.lastPage : this.pages.get(no);
    const left = page ? undefined : this.inImage.get(no);
    if (left) {
      // Placed anew: the page comes into memory and stays.
      page = this.readPage(left);
      this.pages.set(no, page);
      this.inImage.delete(no);
    }
    if (!page) {
      if (!offset) return;
      this.pages.set(no, (page = { offsets: new Uint32Array(PAGE), lengths: new Uint16Array(PAGE), keys: null }));
      // Pages come mostly in order (new ids are the largest).
      if (!this.order.length || this.order[this.order.length - 1] < no) this.order.push(no);
      else this.order = [...this.order, no].sort((a, b) => a - b);
    }
    this.lastNo = no;
    this.lastPage = page;
    if (offset > 0xffff_ffff && page.offsets instanceof Uint32Array) page.offsets = Float64Array.from(page.offsets);
    if (length > 0xffff && page.lengths instanceof Uint16Array) page.lengths = Uint32Array.from(page.lengths);
    page.offsets[id % PAGE] = offset;
    page.lengths[id % PAGE] = length;
  }

  /**
   * While the table is read: the index keys' parts of the row that placed `id` (which is placed),
   * `width` numbers of `row` from `from` (a loop, not a view: 1.5 million rows at ten years).
   */
  setKeys(id: number, row: Float64Array, from: number, width: number): void {
    const page = this.pages.get(Math.floor(id / PAGE))!;
    const keys = (page.keys ??= new Int32Array(PAGE * width));
    const at = (id % PAGE) * width;
    for (let k = 0; k < width; k++) keys[at + k] = row[from + k];
  }

  /**
   * While the table is read: each placed id, ascending, with the two parts at `part` of its keys
   * (`width` a row); a pause (a `yield`) after every 16 pages.
   */
  *eachKeys(width: number, part: number, tell: (id: number, head: number, tail: number) => void): Generator<void> {
    let n = 0;
    for (const no of this.order) {
      const { offsets, keys } = this.pages.get(no)!;
      for (let i = 0; i < PAGE; i++)
        if (offsets[i] > 0) tell(no * PAGE + i, keys![i * width + part], keys![i * width + part + 1]);
      if (++n % 16 === 0) yield;
    }
  }

  dropKeys(): void {
    for (const page of this.pages.values()) page.keys = null;
  }

  *ids(descending: boolean): Generator<number> {
    const order = descending ? [...this.order].reverse() : [...this.order];
    for (const no of order) {
      const { offsets } = this.pageToRead(no)!;
      if (descending) {
        for (let i = PAGE - 1; i >= 0; i--) if (offsets[i] > 0) yield no * PAGE + i;
      } else for (let i = 0; i < PAGE; i++) if (offsets[i] > 0) yield no * PAGE + i;
    }
  }
}
