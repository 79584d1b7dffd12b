// A FIFO of at most `capacity` items: pushing onto a full queue drops the oldest (counted by the
// caller), so a slow or dead receiver can cost memory only up to the bound.
export class BoundedQueue<T> {
  private items: T[] = [];
  private head = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** Adds an item; returns how many of the oldest were dropped to make room (0 or 1). */
  push(item: T): number {
    let dropped = 0;
    if (this.size >= this.capacity) {
      this.head++;
      dropped = 1;
    }
    this.items.push(item);
    this.compact();
    return dropped;
  }

  peek(): T | undefined {
    return this.size ? this.items[this.head] : undefined;
  }

  shift(): T | undefined {
    if (!this.size) return undefined;
    const item = this.items[this.head++];
    this.compact();
    return item;
  }

  /** Takes up to `n` items from the front. */
  take(n: number): T[] {
    const out = this.items.slice(this.head, this.head + n);
    this.head += out.length;
    this.compact();
    return out;
  }

  clear(): number {
    const n = this.size;
    this.items = [];
    this.head = 0;
    return n;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
