// One-way network delay for the local latency model (the Neon front door, scripts/latency-proxy.ts).
// A delay line is one direction of a link: what is pushed into it comes out no sooner than `delayMs()` later,
// and never before anything pushed earlier (a link does not reorder), even when the delay changes meanwhile.
// Delays are lower bounds: Node timers may fire a little late, never early (due times are re-checked).

/** Run `fn` once at least `ms` milliseconds have passed (at once, synchronously, when `ms` <= 0). */
export function afterAtLeast(ms, fn) {
  if (!(ms > 0)) return fn();
  const due = performance.now() + ms;
  const check = () => {
    const left = due - performance.now();
    if (left > 0) setTimeout(check, Math.ceil(left));
    else fn();
  };
  setTimeout(check, Math.ceil(ms));
}

/** A promise that resolves at least `ms` milliseconds from now. */
export function holdAtLeast(ms) {
  return new Promise((resolve) => afterAtLeast(ms, resolve));
}

/**
 * @param {() => number} delayMs  the link's current one-way delay
 * @returns {{ push: (fn: () => void) => void, clear: () => void, readonly pending: number }}
 *          `push` runs `fn` after the delay, in push order; with no delay and nothing pending it runs at once.
 */
export function createDelayLine(delayMs) {
  /** @type {{ due: number, fn: () => void }[]} */
  const queue = [];
  let timer = null;
  const pump = () => {
    timer = null;
    try {
      while (queue.length > 0 && queue[0].due <= performance.now()) queue.shift().fn();
    } finally {
      arm();
    }
  };
  const arm = () => {
    if (timer || queue.length === 0) return;
    timer = setTimeout(pump, Math.max(0, Math.ceil(queue[0].due - performance.now())));
  };
  return {
    push(fn) {
      const ms = delayMs();
      if (!(ms > 0) && queue.length === 0) return fn();
      const due = Math.max(performance.now() + Math.max(0, ms), queue.at(-1)?.due ?? 0);
      queue.push({ due, fn });
      arm();
    },
    clear() {
      queue.length = 0;
      clearTimeout(timer);
      timer = null;
    },
    get pending() {
      return queue.length;
    },
  };
}
