/**
 * README.md's code examples as data, for readme-examples.test.ts: which fences are examples, what
 * a skip marker looks like, and how the reader's default addresses become a test server's ports.
 *
 * Kept apart from the test so that the extraction rules are one small, readable table.
 */
import { readFileSync } from 'node:fs';

/** Fence info strings that mark a runnable example; the value is the file extension it runs as. */
export const EXAMPLE_LANGUAGES: Readonly<Record<string, '.mjs' | '.mts'>> = {
  js: '.mjs',
  javascript: '.mjs',
  ts: '.mts',
  typescript: '.mts',
};

/** `<!-- readme-test: skip (why) -->` on the last non-blank line before a fence. */
const SKIP_MARKER = /^<!--\s*readme-test:\s*skip\s*\((.+)\)\s*-->$/;
const FENCE = /^(`{3,}|~{3,})\s*([\w+-]*)/;

export interface ReadmeExample {
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  ext: '.mjs' | '.mts';
  code: string;
  /** The reason given by a skip marker, when there is one. */
  skip?: string;
}

/** Every fenced js/ts example of a Markdown text, in order. */
export function extractExamples(markdown: string): ReadmeExample[] {
  const lines = markdown.split(/\r?\n/);
  const out: ReadmeExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, fence, info] = open as unknown as [string, string, string];
    let end = i + 1;
    while (end < lines.length && !lines[end]!.trimEnd().startsWith(fence)) end++;
    if (end >= lines.length) throw new Error(`README.md:${i + 1}: unterminated code fence`);
    const ext = EXAMPLE_LANGUAGES[info.toLowerCase()];
    if (ext !== undefined) {
      let prev = i - 1;
      while (prev >= 0 && lines[prev]!.trim() === '') prev--;
      const skip = prev >= 0 ? SKIP_MARKER.exec(lines[prev]!.trim())?.[1] : undefined;
      const code = lines.slice(i + 1, end).join('\n') + '\n';
      out.push({ line: i + 1, lang: info, ext, code, ...(skip !== undefined ? { skip } : {}) });
    }
    i = end;
  }
  return out;
}

export function readmeExamples(path: string): ReadmeExample[] {
  return extractExamples(readFileSync(path, 'utf8'));
}

export interface ServerPorts {
  kv: number;
  mgmt: number;
  http: number;
}

/**
 * The README is written for a reader running `npm start`, so its examples use the default
 * addresses; a test server listens on ephemeral ports instead. Each rule rewrites one well-known
 * address to the matching real port. Nothing else in an example is changed.
 */
export const ADDRESS_SUBSTITUTIONS: ReadonlyArray<{ from: RegExp; to: (p: ServerPorts) => string }> = [
  // couchbase://127.0.0.1[/bucket] without a port means the KV port 11210
  { from: /couchbase:\/\/127\.0\.0\.1(?![:\d])/g, to: (p) => `couchbase://127.0.0.1:${p.kv}` },
  { from: /127\.0\.0\.1:11210(?!\d)/g, to: (p) => `127.0.0.1:${p.kv}` },
  { from: /127\.0\.0\.1:8091(?!\d)/g, to: (p) => `127.0.0.1:${p.mgmt}` },
  { from: /127\.0\.0\.1:5984(?!\d)/g, to: (p) => `127.0.0.1:${p.http}` },
];

export function substituteAddresses(code: string, ports: ServerPorts): string {
  return ADDRESS_SUBSTITUTIONS.reduce((text, rule) => text.replace(rule.from, rule.to(ports)), code);
}
