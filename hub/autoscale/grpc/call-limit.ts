// At most `limit` tasks at once; the others wait their turn in order. The gRPC path runs provider
// hook processes through one of these per hub, so IncreaseSize(1000) or a large DeleteNodes starts a
// few processes at a time, not a thousand.
export class CallLimit {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
