/**
 * The KV listener's command table (src/kv/dispatch.ts `commandTable`): other faces' commands and
 * stat groups come in only through the extensions the server passes, and a clash is refused at
 * startup rather than one entry silently replacing another.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Opcode } from '../../src/codec/opcodes.js';
import { commandTable } from '../../src/kv/dispatch.js';
import { DCP_COMMANDS } from '../../src/dcp/commands.js';
import { dcpStats } from '../../src/dcp/stats.js';

test('without extensions the table has the KV commands and no DCP opcode', () => {
  const table = commandTable();
  assert.ok(table.has(Opcode.Get) && table.has(Opcode.Stat) && table.has(Opcode.Hello));
  assert.equal(table.has(Opcode.DcpOpen), false);
});

test('DCP opcodes are served once the server hands them in', () => {
  const table = commandTable({ extraCommands: DCP_COMMANDS, statGroups: { dcp: dcpStats } });
  for (const spec of DCP_COMMANDS) assert.equal(table.get(spec.opcode), spec);
});

test('an opcode or a stat group given twice is refused', () => {
  assert.throws(() => commandTable({ extraCommands: [...DCP_COMMANDS, DCP_COMMANDS[0]!] }), /registered twice/);
  assert.throws(() => commandTable({ extraCommands: [{ ...DCP_COMMANDS[0]!, opcode: Opcode.Get }] }), /registered twice/);
  assert.throws(() => commandTable({ statGroups: { vbucket: dcpStats } }), /stat group "vbucket" registered twice/);
});
