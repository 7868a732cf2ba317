/** Shared printing for benchmarks: one aligned line per figure. */
export function rate(count: number, ms: number): number {
  return Math.round((count / ms) * 1000);
}

export function line(label: string, value: string): void {
  process.stdout.write(`${label.padEnd(44)} ${value}\n`);
}

export function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
