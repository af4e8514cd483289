// Polling without pile-ups: the next round starts `everyMs` after the previous one finished, and stops
// for good when the page is left.

export function poll(everyMs: number, round: () => Promise<void>): () => void {
  let stopped = false;
  let timer: number | undefined;
  const run = async (): Promise<void> => {
    try {
      await round();
    } catch {
      // each round shows its own errors
    }
    if (!stopped) timer = window.setTimeout(run, everyMs);
  };
  void run();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
  };
}
