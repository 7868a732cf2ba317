/** Shared by the metrics tests: an authenticated KV connection (Freshet's own client). */
import * as c from '../../src/codec/index.js';
import { KvConnection } from '../../src/client/connection.js';
import { ADMIN, type TestServer } from '../helpers/server.js';

/** A KV connection authenticated as the administrator, bucket `default` selected. */
export async function kvClient(server: TestServer): Promise<KvConnection> {
  const conn = await KvConnection.connect({ port: server.server.ports.kv }, { requestTimeoutMs: 20_000 });
  await conn.hello('metrics-test', [c.Feature.Xerror]);
  await conn.saslPlain(ADMIN.username, ADMIN.password);
  await conn.selectBucket('default');
  return conn;
}
