// Waits for a promise, but no longer than `ms`: true when it settled in time (fulfilled or rejected,
// the rejection left to whoever else holds the promise), false when the time ran out. The timer is
// cleared either way; while it runs it keeps the process alive, since someone waits on it.
export async function waitAtMost(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
