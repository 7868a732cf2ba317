/**
 * A sequence that only grows, and the one-shot waiters its next advance wakes: the bucket's
 * persisted change sequence (`_changes`, engine/change-wait.ts) is one. Waiters register and
 * cancel in O(1), so an abandoned feed leaves nothing behind.
 */
export class SeqSignal {
  #value = 0;
  readonly #waiters = new Set<() => void>();

  get value(): number {
    return this.#value;
  }

  /** Registered waiters (tests prove that dropped feeds leave none behind). */
  get waiterCount(): number {
    return this.#waiters.size;
  }

  /** Set the value without waking anyone (start-up). */
  reset(value: number): void {
    this.#value = value;
  }

  /** Move to `value` if it is higher, waking every waiter. */
  advance(value: number): void {
    if (value <= this.#value) return;
    this.#value = value;
    this.wake();
  }

  /** Calls `wake` once at the next advance (or `wake()`); returns a canceller. */
  onChange(wake: () => void): () => void {
    this.#waiters.add(wake);
    return () => this.#waiters.delete(wake);
  }

  wake(): void {
    if (this.#waiters.size === 0) return;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }
}
