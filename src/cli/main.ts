/**
 * The `freshet` command line. Each subcommand lives in its own file and registers itself here.
 */
import { Command } from 'commander';
import { registerServe } from './serve.js';
import { registerBucket } from './bucket.js';
import { registerReplicate } from './replicate.js';
import { registerTail } from './tail.js';
import { registerStats } from './stats.js';
import { registerXdcr } from './xdcr.js';
import { ENVIRONMENT_HELP } from './common.js';
import { FRESHET_VERSION } from '../common/version.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('freshet')
    .description('A document database whose every change is a durable, resumable stream.\n' +
      'Speaks Couchbase KV + DCP (port 11210), the cluster-manager REST API (8091) and CouchDB HTTP (5984).')
    .version(FRESHET_VERSION, '-V, --version', 'print the version of freshet')
    // every command's help ends with the environment variables the commands read
    .addHelpText('afterAll', ENVIRONMENT_HELP)
    .showHelpAfterError();
  registerServe(program);
  registerBucket(program);
  registerReplicate(program);
  registerTail(program);
  registerStats(program);
  registerXdcr(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
