/**
 * Golden-bytes tests: every fixture is decoded (header + family decoder) and compared to
 * its expected message, then the message is re-encoded and compared byte for byte.
 * Fixtures are built with test/codec/fixtures/hex.ts, not with the codec's writer.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePacket, encodePacket } from '../../src/codec/index.js';
import { DCP_GOLDEN } from './fixtures/golden-dcp.js';
import { KV_CONSTRUCTED_GOLDEN } from './fixtures/golden-kv-constructed.js';
import { KV_GOLDEN } from './fixtures/golden-kv.js';
import type { Golden } from './fixtures/hex.js';

function suite(title: string, fixtures: readonly Golden<unknown>[]): void {
  describe(title, () => {
    for (const g of fixtures) {
      test(g.name, () => {
        const p = decodePacket(g.bytes);
        // the packet layer alone round-trips
        assert.deepEqual(encodePacket(p), g.bytes, 'packet re-encode');
        // the family decoder yields the documented fields
        assert.deepEqual(g.decode(p), g.message, 'decoded message');
        // the family encoder reproduces the documented bytes
        assert.deepEqual(encodePacket(g.encode(g.message)), g.bytes, 'message encode');
      });
    }
  });
}

suite('codec > golden > kv (BinaryProtocol.md, sasl.md, get_seqno.md)', KV_GOLDEN);
suite('codec > golden > kv (constructed from spec layouts)', KV_CONSTRUCTED_GOLDEN);
suite('codec > golden > dcp (docs/dcp/documentation/commands)', DCP_GOLDEN);
