/**
 * The run of `freshet xdcr push` (options and help in xdcr.ts): the push (src/xdcr/push.ts), its
 * progress bar on a terminal, signals, and the summary line. Loaded only when the command runs.
 */
import cliProgress from 'cli-progress';
import { runPush, type PushStats } from '../xdcr/push.js';
import { cliLogger } from './common.js';
import { fatalCause } from './tail-run.js';
import type { XdcrPushFlags } from './xdcr.js';

/** The source URL with the bucket: couchbase://host:port/BUCKET, or the REST seed as given. */
function sourceUrl(source: string, bucket: string): { url: string; bucket?: string } {
  if (/^https?:\/\//i.test(source)) return { url: source, bucket };
  return { url: `${source.replace(/\/+$/, '').replace(/^(couchbase:\/\/[^/]+).*$/i, '$1')}/${encodeURIComponent(bucket)}` };
}

export async function runXdcrPush(sourceBucket: string, target: string, flags: XdcrPushFlags): Promise<void> {
  const log = cliLogger(flags.quiet ? 'silent' : flags.logLevel);
  const credentials = flags.username !== undefined ? { username: flags.username, password: flags.password ?? '' } : undefined;
  const targetCredentials = flags.targetUsername !== undefined ? { username: flags.targetUsername, password: flags.targetPassword ?? '' } : credentials;
  const ac = new AbortController();
  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(130);
    stopping = true;
    ac.abort(new Error('stopped'));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const bar = flags.progress && !flags.continuous && process.stderr.isTTY
    ? new cliProgress.SingleBar({ format: 'xdcr push [{bar}] {percentage}% | {value}/{total} seqnos | {written} written, {rejected} rejected', hideCursor: true }, cliProgress.Presets.shades_classic)
    : undefined;
  const ends = new Map<number, { start: number; end: number; at: number }>();
  let total = 0;
  let done = 0;
  let fatal: string | undefined;
  const src = sourceUrl(flags.source, sourceBucket);
  let stats: PushStats | undefined;
  let targetOpen = false;
  // A one-shot push must end: without a source connection within --connect-timeout it fails
  // (as `tail --to now`); a continuous one keeps retrying. Each new cause is warned once.
  let lastCause: string | undefined;
  const connectTimer = flags.continuous
    ? undefined
    : setTimeout(() => {
        fatal ??= `no connection to the source within ${flags.connectTimeout} s${lastCause === undefined ? '' : `: ${lastCause}`}`;
        ac.abort(new Error(fatal));
      }, flags.connectTimeout * 1000);
  try {
    stats = await runPush({
      source: src.url,
      ...(src.bucket !== undefined ? { bucket: src.bucket } : {}),
      ...(credentials ? { sourceCredentials: credentials } : {}),
      target,
      ...(targetCredentials ? { targetCredentials } : {}),
      ...(flags.checkpoint !== undefined ? { checkpoint: flags.checkpoint } : {}),
      continuous: flags.continuous,
      signal: ac.signal,
      onTargetOpen: () => (targetOpen = true),
      onError: (err) => {
        const why = fatalCause(err, credentials !== undefined);
        if (why !== undefined) {
          fatal ??= why;
          ac.abort(err);
        } else if (err.message !== lastCause) {
          lastCause = err.message;
          log.warn({ err: err.message }, 'source stream problem, retrying');
        }
      },
      onStatus: (s) => {
        if (s.type === 'connected') clearTimeout(connectTimer);
        if (!bar || s.type !== 'stream-requested' || !Number.isFinite(s.endSeqno) || ends.has(s.vbucket)) return;
        ends.set(s.vbucket, { start: s.startSeqno, end: s.endSeqno, at: s.startSeqno });
        total += Math.max(0, s.endSeqno - s.startSeqno);
        if (total > 0) bar.start(total, done, { written: 0, rejected: 0 });
      },
      onWrite: (change, st) => {
        if (!bar || change.type === 'rollback') return;
        const e = ends.get(change.vbucket);
        if (e === undefined || !('seqno' in change)) return;
        const next = Math.min(Math.max(e.at, change.seqno), e.end);
        done += next - e.at;
        e.at = next;
        bar.update(done, { written: st.written, rejected: st.rejected });
      },
    });
  } catch (err) {
    if (fatal === undefined && !targetOpen) {
      // The target is opened first: name it, and the options that give its credentials.
      const why = fatalCause(err, targetCredentials !== undefined);
      const hint = flags.targetUsername !== undefined ? 'check --target-username and --target-password' : 'check -u/--username and -p/--password, or give --target-username and --target-password';
      throw new Error(`the target ${target}: ${(why ?? (err instanceof Error ? err.message : String(err))).replace(/check -u\/--username and -p\/--password$/, hint)}`);
    }
    throw new Error(fatal ?? fatalCause(err, credentials !== undefined) ?? (err instanceof Error ? err.message : String(err)));
  } finally {
    clearTimeout(connectTimer);
    bar?.stop();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  if (fatal !== undefined) throw new Error(fatal);
  process.stdout.write(JSON.stringify({ source: sourceBucket, target, ...stats, stopped: stopping }) + '\n');
}
