/**
 * Magic byte (header byte 0): packet direction and header flavour.
 * Source: kv include/mcbp/protocol/magic.h, docs/BinaryProtocol.md "Magic Byte"; dcp.md §1.1.
 *
 * "alt" magics use flexible framing: byte 2 is the framing-extras length and byte 3 the
 * (1-byte) key length. The 0x82/0x83 pair is only used after HELLO Duplex.
 */

export const MAGIC_TABLE = [
  { code: 0x80, name: 'ClientRequest', request: true, alt: false },
  { code: 0x81, name: 'ClientResponse', request: false, alt: false },
  { code: 0x08, name: 'AltClientRequest', request: true, alt: true },
  { code: 0x18, name: 'AltClientResponse', request: false, alt: true },
  { code: 0x82, name: 'ServerRequest', request: true, alt: false },
  { code: 0x83, name: 'ServerResponse', request: false, alt: false },
] as const;

export type MagicInfo = (typeof MAGIC_TABLE)[number];
export type MagicName = MagicInfo['name'];

export const Magic = Object.fromEntries(MAGIC_TABLE.map((m) => [m.name, m.code])) as {
  readonly [K in MagicName]: Extract<MagicInfo, { name: K }>['code'];
};

const byCode = new Map<number, MagicInfo>(MAGIC_TABLE.map((m) => [m.code, m]));

export function magicInfo(code: number): MagicInfo | undefined {
  return byCode.get(code);
}

export function isValidMagic(code: number): boolean {
  return byCode.has(code);
}

/** Request magics: 0x80, 0x08, 0x82. A DCP producer's stream messages are requests. */
export function isRequestMagic(code: number): boolean {
  return byCode.get(code)?.request === true;
}

export function isResponseMagic(code: number): boolean {
  return byCode.get(code)?.request === false;
}

/** Flexible-framing magics (0x08, 0x18), whose header splits bytes 2-3. */
export function isAltMagic(code: number): boolean {
  return byCode.get(code)?.alt === true;
}

/** The magic a reply to a packet with magic `code` must carry. */
export function responseMagicFor(code: number): number {
  if (code === Magic.ServerRequest) return Magic.ServerResponse;
  return Magic.ClientResponse;
}
