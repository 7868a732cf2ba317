/** Runs `freshet replicate …` in a child process for tests, through the command's own registration. */
import { Command } from 'commander';
import { registerReplicate } from '../../../src/cli/replicate.js';

const program = new Command().name('freshet');
registerReplicate(program);
await program.parseAsync(process.argv);
