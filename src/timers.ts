/** Node's timers hold at most 2^31-1 ms (24.8 days); longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `fn` at time `at` (ms), however far away; returns a function that cancels it. */
export function atTime(at: number, fn: () => void): () => void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const wait = at - Date.now();
    timer = wait > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(fn, Math.max(0, wait));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}

/**
 * Many deadlines on one Node timer, armed for the earliest of them: for what each socket or
 * subscriber would otherwise hold a timer of its own for (its session's expiry). Deadlines at
 * the same millisecond share an entry; the timer is unref'd and cleared when none is left.
 */
export class Deadlines {
  readonly #due = new Map<number, Set<() => void>>();
  #timer: NodeJS.Timeout | undefined;
  /** The time the timer is armed for; Infinity when it is not armed. */
  #armedFor = Number.POSITIVE_INFINITY;

  /** Calls `fn` at time `at` (ms), however far away; returns a function that cancels it. */
  at(at: number, fn: () => void): () => void {
    let fns = this.#due.get(at);
    if (!fns) {
      fns = new Set();
      this.#due.set(at, fns);
    }
    fns.add(fn);
    if (at < this.#armedFor) this.#arm(at);
    return () => {
      const same = this.#due.get(at);
      if (!same?.delete(fn) || same.size > 0) return;
      this.#due.delete(at);
      if (this.#due.size === 0) this.#arm(Number.POSITIVE_INFINITY);
    };
  }

  /** How many deadlines are waiting. */
  get size(): number {
    let count = 0;
    for (const fns of this.#due.values()) count += fns.size;
    return count;
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = at;
    if (at === Number.POSITIVE_INFINITY) return;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now()));
    this.#timer = setTimeout(() => this.#fire(), wait);
    this.#timer.unref();
  }

  #fire(): void {
    const now = Date.now();
    const due: (() => void)[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const [at, fns] of this.#due) {
      if (at <= now) {
        this.#due.delete(at);
        for (const fn of fns) due.push(fn);
      } else if (at < next) next = at;
    }
    this.#arm(next);
    for (const fn of due) fn();
  }
}

/** The process's deadlines, one timer for all of them (see `Deadlines`). */
export const deadlines = new Deadlines();
