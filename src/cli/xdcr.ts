/**
 * `freshet xdcr push SOURCE_BUCKET couchbase://HOST[:PORT]/BUCKET`: replicate a bucket to a
 * Couchbase cluster (or another Freshet) the way XDCR's XMEM mode does: DCP out of the source,
 * SET_WITH_META / DEL_WITH_META into the target, whose conflict resolution decides (src/xdcr/).
 *
 *   freshet xdcr push default couchbase://cb.example:11210/default -u Administrator -p password
 *   freshet xdcr push default couchbase://cb/default --checkpoint push.json --continuous
 *
 * - The source is this machine's Freshet over loopback (`--source couchbase://127.0.0.1:11210`),
 *   or any DCP source given with --source; -u/-p are its credentials, and the target's too unless
 *   --target-username/--target-password are given.
 * - One-shot by default: up to the high seqnos when each vbucket's stream opened, then exit 0.
 *   `--continuous` keeps pushing new changes until stopped.
 * - `--checkpoint FILE`: per-vbucket positions (source vbuuid + seqno) saved atomically; a rerun
 *   (even after kill -9) resumes there. One file per source/target pair.
 * - A progress bar on stderr when it is a terminal; otherwise quiet. The summary (counts written,
 *   rejected by the target's conflict resolution, ...) is one JSON line on stdout at the end.
 * - SIGINT / SIGTERM: stop within a second, save the checkpoint, exit 0; a second SIGINT exits 130.
 * - Exit 1 with the cause: a target that refuses a write for good, bad credentials, no bucket,
 *   or (one-shot) no source connection within --connect-timeout, as `tail --to now`: a bounded
 *   run must end. Source connection problems are warned once per cause, not once per retry.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { logLevelOption } from './common.js';
import { seconds } from './tail.js';

export interface XdcrPushFlags {
  source: string;
  username?: string;
  password?: string;
  targetUsername?: string;
  targetPassword?: string;
  checkpoint?: string;
  continuous: boolean;
  connectTimeout: number;
  progress: boolean;
  quiet: boolean;
  logLevel: string;
}

export function registerXdcr(program: Command): void {
  const xdcr = program.command('xdcr').description('cross datacenter replication (XDCR) to Couchbase or Freshet');
  xdcr
    .command('push')
    .description('push a bucket to a target bucket with SET/DEL_WITH_META (the target resolves conflicts)')
    .argument('<source-bucket>', 'the bucket to push')
    .argument('<target>', 'couchbase://HOST[:PORT]/BUCKET')
    .option('--source <url>', 'where the source bucket is served (DCP)', 'couchbase://127.0.0.1:11210')
    .addOption(new Option('-u, --username <name>', 'user name (source, and target unless --target-username)').env('FRESHET_USERNAME'))
    .addOption(new Option('-p, --password <password>', 'password').env('FRESHET_PASSWORD'))
    .option('--target-username <name>', "the target's user name")
    .option('--target-password <password>', "the target's password")
    .option('--checkpoint <file>', 'save per-vbucket positions in FILE and resume from it')
    .option('--continuous', 'keep pushing new changes until stopped', false)
    .option('--connect-timeout <s>', 'one-shot: give up (exit 1) without a source connection after this many seconds', seconds, 30)
    .option('--no-progress', 'no progress bar even on a terminal')
    .option('-q, --quiet', 'no warnings on stderr (a fatal error is still printed)', false)
    .addOption(logLevelOption('warn'))
    .action(async (sourceBucket: string, target: string, flags: XdcrPushFlags) => {
      if (!/^couchbase:\/\/[^/]+\/[^/?]+$/i.test(target)) throw new InvalidArgumentError('the target must be couchbase://HOST[:PORT]/BUCKET');
      if (!/^(couchbase|https?):\/\//i.test(flags.source)) throw new InvalidArgumentError('--source must be couchbase://HOST[:PORT] or http://HOST:8091');
      const { runXdcrPush } = await import('./xdcr-run.js');
      await runXdcrPush(sourceBucket, target, flags);
    });
}
