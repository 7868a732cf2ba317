/**
 * What every connection of one BucketDataSource shares about the vbuckets: their end seqnos
 * (options.seqEnd, or the high seqno first seen for `to: 'now'`), which ones are finished, and the
 * callbacks into the data source (kick a map refresh, report completion).
 *
 * End seqnos are fixed the first time they are learnt and survive reconnects and moves, so a
 * bounded run ends at the state the cluster had when the run began, whichever node serves it.
 *
 * Ownership: a vbucket is streamed by at most one connection at a time. When the map moves it, the
 * new node's connection waits until the old one has closed its stream (and finished the receiver
 * calls for it), so the receiver never sees one vbucket from two connections at once and the new
 * stream starts from the metadata the old one left. (cbdatasource has this race.)
 */
import { SEQNO_INFINITY } from '../codec/index.js';
import type { ResolvedDataSourceOptions } from './options.js';

export class StreamPlan {
  readonly #options: ResolvedDataSourceOptions;
  readonly #learnt = new Map<number, number>();
  readonly #done = new Set<number>();
  #wanted: ReadonlySet<number> | undefined;
  #completed = false;
  readonly #onComplete: () => void;
  readonly #owners = new Map<number, object>();
  /** Vbuckets a connection asked for while another held them: their release wakes the others. */
  readonly #contended = new Set<number>();
  readonly #onReleased: () => void;
  /** whenFree callers, per vbucket, woken when its owner lets it go. */
  readonly #freeWaiters = new Map<number, (() => void)[]>();

  constructor(options: ResolvedDataSourceOptions, onComplete: () => void, onReleased: () => void = () => {}) {
    this.#options = options;
    this.#onComplete = onComplete;
    this.#onReleased = onReleased;
  }

  /** Take `vb` for `owner`; false while another connection still holds it. */
  claim(vb: number, owner: object): boolean {
    const cur = this.#owners.get(vb);
    if (cur !== undefined && cur !== owner) {
      this.#contended.add(vb);
      return false;
    }
    this.#owners.set(vb, owner);
    return true;
  }

  release(vb: number, owner: object): void {
    if (this.#owners.get(vb) !== owner) return;
    this.#owners.delete(vb);
    this.#wakeFree(vb);
    if (this.#contended.delete(vb)) this.#onReleased();
  }

  releaseAll(owner: object): void {
    let any = false;
    for (const [vb, o] of this.#owners) {
      if (o !== owner) continue;
      this.#owners.delete(vb);
      this.#wakeFree(vb);
      if (this.#contended.delete(vb)) any = true;
    }
    if (any) this.#onReleased();
  }

  /** Resolves once no connection holds `vb` (its stream closed and its receiver calls returned). */
  whenFree(vb: number): Promise<void> {
    if (!this.#owners.has(vb)) return Promise.resolve();
    return new Promise((resolve) => {
      let list = this.#freeWaiters.get(vb);
      if (list === undefined) this.#freeWaiters.set(vb, (list = []));
      list.push(resolve);
    });
  }

  #wakeFree(vb: number): void {
    const list = this.#freeWaiters.get(vb);
    if (list === undefined) return;
    this.#freeWaiters.delete(vb);
    for (const w of list) w();
  }

  /** The end seqno of `vb`: a number, SEQNO_INFINITY, or undefined while `to: 'now'` has not learnt it. */
  endSeqno(vb: number): number | undefined {
    const fixed = this.#options.seqEnd.get(vb) ?? this.#learnt.get(vb);
    if (fixed !== undefined) return fixed;
    return this.#options.to === 'now' ? undefined : SEQNO_INFINITY;
  }

  learnEnd(vb: number, high: number): void {
    if (!this.#learnt.has(vb) && !this.#options.seqEnd.has(vb)) this.#learnt.set(vb, high);
  }

  isDone(vb: number): boolean {
    return this.#done.has(vb);
  }

  /** The set of vbuckets the data source streams; completion is judged against it. */
  setWanted(vbs: ReadonlySet<number>): void {
    this.#wanted = vbs;
    this.#check();
  }

  markDone(vb: number): void {
    this.#done.add(vb);
    this.#check();
  }

  get complete(): boolean {
    return this.#completed;
  }

  #check(): void {
    if (this.#completed || this.#wanted === undefined || this.#wanted.size === 0) return;
    for (const vb of this.#wanted) if (!this.#done.has(vb)) return;
    this.#completed = true;
    this.#onComplete();
  }
}
