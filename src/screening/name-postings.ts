/**
 * Postings of the name index: for each key (a word key, an exact key, a joined run), the list
 * names holding it, each with a bit mask of which of its tokens hold it. Built by appending,
 * then packed into flat typed arrays grouped by key, which are compact and fast to walk.
 */
export class Postings {
  readonly keys: string[] = [];
  private readonly ids = new Map<string, number>();
  private pending: number[] = [];
  private offsets = new Int32Array(1);
  private names = new Int32Array(0);
  private masks = new Int32Array(0);

  add(key: string, name: number, mask: number): void {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.keys.length;
      this.ids.set(key, id);
      this.keys.push(key);
    }
    this.pending.push(id, name, mask);
  }

  /** Packs what was added (a counting sort by key); add must not be called afterwards. */
  seal(): void {
    const pending = this.pending;
    this.offsets = new Int32Array(this.keys.length + 1);
    for (let i = 0; i < pending.length; i += 3) this.offsets[pending[i] + 1]++;
    for (let k = 0; k < this.keys.length; k++) this.offsets[k + 1] += this.offsets[k];
    const fill = this.offsets.slice(0, this.keys.length);
    this.names = new Int32Array(pending.length / 3);
    this.masks = new Int32Array(pending.length / 3);
    for (let i = 0; i < pending.length; i += 3) {
      const at = fill[pending[i]]++;
      this.names[at] = pending[i + 1];
      this.masks[at] = pending[i + 2];
    }
    this.pending = [];
  }

  id(key: string): number | undefined {
    return this.ids.get(key);
  }

  /** Postings of key `id` are at positions [start(id), start(id) + length(id)). */
  start(id: number): number {
    return this.offsets[id];
  }

  length(id: number): number {
    return this.offsets[id + 1] - this.offsets[id];
  }

  nameAt(at: number): number {
    return this.names[at];
  }

  maskAt(at: number): number {
    return this.masks[at];
  }
}
