/**
 * Lexical pieces of SCRAM messages (RFC 5802 §5.1 and §7), shared by the server and the client.
 *
 *   attr-val  = ALPHA "=" value          (messages are comma-separated attr-vals)
 *   saslname  = 1*(value-safe-char / "=2C" / "=3D")
 *   printable = %x21-2B / %x2D-7E        (nonce characters)
 *
 * One deliberate leniency: nonces may contain spaces. The Couchbase C++ SDK core sends a
 * hex dump with spaces as its client nonce (e.g. `0x56 0x62 0x1e ...`; see
 * couchbase-sdk-bootstrap.md §3.2), and kv_engine accepts it because it checks `isprint`
 * (0x20-0x7e) rather than the RFC range (cbsasl/scram-sha/scram-sha.cc `addAttribute`).
 */

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 decode that refuses invalid sequences instead of inserting U+FFFD. */
export function decodeUtf8Strict(input: string | Uint8Array): string | undefined {
  if (typeof input === 'string') return input;
  try {
    return textDecoder.decode(input);
  } catch {
    return undefined;
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Canonical padded base64 (RFC 4648 §4) or undefined. Node's decoder silently skips invalid
 * characters, which would let a garbled proof decode to something; the round-trip check also
 * rejects non-zero padding bits.
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (!BASE64.test(text)) return undefined;
  const decoded = Buffer.from(text, 'base64');
  return decoded.toString('base64') === text ? decoded : undefined;
}

/** RFC 5802 §5.1: ',' and '=' in user names travel as "=2C" and "=3D". */
export function encodeSaslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** Inverse of encodeSaslName; undefined when an '=' is followed by anything but 2C or 3D. */
export function decodeSaslName(encoded: string): string | undefined {
  let out = '';
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded[i]!;
    if (c === ',') return undefined;
    if (c !== '=') {
      out += c;
      continue;
    }
    const escape = encoded.slice(i + 1, i + 3);
    if (escape === '2C') out += ',';
    else if (escape === '3D') out += '=';
    else return undefined;
    i += 2;
  }
  return out;
}

/** Non-empty, printable ASCII (0x20-0x7e, spaces allowed as explained above), no comma. */
export function isValidNonce(nonce: string): boolean {
  return nonce.length > 0 && /^[\x20-\x2b\x2d-\x7e]+$/.test(nonce);
}

export interface ScramAttribute {
  readonly key: string;
  readonly value: string;
}

/** Split "a=1,b=2" into attributes; undefined when any part is not ALPHA "=" value. */
export function splitAttributes(text: string): ScramAttribute[] | undefined {
  if (text.length === 0) return undefined;
  const out: ScramAttribute[] = [];
  for (const part of text.split(',')) {
    if (!/^[A-Za-z]=/.test(part)) return undefined;
    out.push({ key: part[0]!, value: part.slice(2) });
  }
  return out;
}
