import { constants as zc, deflateRawSync, inflateRawSync } from 'node:zlib';
import { CacheError } from './errors.js';
import { lazyPackr } from './msgpack.js';

/**
 * The bytes L2 and L3 hold for one entry:
 *
 *   byte 0      format: version in the high nibble (1), bit 0 compressed, bit 1 tagged
 *   bytes 1-8   expiresAt  (float64 BE, epoch ms; Infinity = never stale)
 *   bytes 9-16  staleUntil (float64 BE, epoch ms; the end of the grace period)
 *   bytes 17-24 writeId    (float64 BE, random in (0, 1): tells one write from another)
 *   bytes 25-32 writtenAt  (float64 BE, epoch ms: orders writes when a missed one is replayed)
 *   bytes 33-   msgpack of the value, or of [value, tags] when bit 1 is set; deflate-raw
 *               compressed when bit 0 is set
 *
 * The times sit outside the body so a reader can tell fresh from stale without inflating. The write
 * id lets a Lua script see whether an entry was rewritten (bytes 17-24, `versionOf`) and lets a bus
 * message say which write it announces, so a copy of that very write is not evicted for nothing.
 */
export const HEADER_BYTES = 33;
const VERSION = 0x10;
const FLAG_COMPRESSED = 0x01;
const FLAG_TAGGED = 0x02;

export interface Decoded {
  value: unknown;
  expiresAt: number;
  staleUntil: number;
  writeId: number;
  writtenAt: number;
  tags: readonly string[] | undefined;
  /** Encoded size in bytes (what L1 counts against its byte bound). */
  size: number;
  /** The encoded bytes this came from. */
  buf: Buffer;
  /** Set by the reader: the cache's bus epoch when the read started. */
  epoch: number;
}

export interface CodecOptions {
  /** Largest msgpack body accepted, before compression (also the inflate output bound). */
  maxValueBytes: number;
  /** Bodies at least this large are compressed when compression is on. */
  compressThresholdBytes: number;
}

export class Codec {
  private readonly packr = lazyPackr({ useRecords: false, mapsAsObjects: true });
  private readonly range = { start: HEADER_BYTES, end: 0 };
  readonly maxValueBytes: number;
  readonly compressThresholdBytes: number;
  compressedCount = 0;
  compressedSaved = 0;

  constructor(opts: CodecOptions) {
    this.maxValueBytes = opts.maxValueBytes;
    this.compressThresholdBytes = opts.compressThresholdBytes;
  }

  encode(value: unknown, expiresAt: number, staleUntil: number, writeId: number, tags: readonly string[] | undefined, compress: boolean, key: string, writtenAt = Date.now()): Buffer {
    if (value === undefined) {
      throw new CacheError('CACHE_VALUE_INVALID', `cache value for ${JSON.stringify(key.slice(0, 80))} is undefined (store null to cache "nothing")`, { key: key.slice(0, 80) });
    }
    let body: Buffer;
    try {
      body = this.packr().pack(tags === undefined ? value : [value, tags]);
    } catch (err) {
      throw new CacheError('CACHE_VALUE_INVALID', `cache value for ${JSON.stringify(key.slice(0, 80))} cannot be serialised: ${(err as Error).message}`, { key: key.slice(0, 80) }, { cause: err });
    }
    if (body.length > this.maxValueBytes) {
      throw new CacheError('CACHE_VALUE_TOO_LARGE', `cache value for ${JSON.stringify(key.slice(0, 80))} is ${body.length} bytes serialised (limit ${this.maxValueBytes})`, {
        key: key.slice(0, 80),
        bytes: body.length,
        limit: this.maxValueBytes,
      });
    }
    let flags = VERSION | (tags === undefined ? 0 : FLAG_TAGGED);
    if (compress && body.length >= this.compressThresholdBytes) {
      const packed = deflateRawSync(body, { level: 1, strategy: zc.Z_DEFAULT_STRATEGY });
      // Keep the compressed form only when it pays for the inflate on every read.
      if (packed.length <= body.length - (body.length >> 3)) {
        this.compressedCount++;
        this.compressedSaved += body.length - packed.length;
        body = packed;
        flags |= FLAG_COMPRESSED;
      }
    }
    const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
    out[0] = flags;
    out.writeDoubleBE(expiresAt, 1);
    out.writeDoubleBE(staleUntil, 9);
    out.writeDoubleBE(writeId, 17);
    out.writeDoubleBE(writtenAt, 25);
    body.copy(out, HEADER_BYTES);
    return out;
  }

  /** Times only: no msgpack, no inflate. Undefined when the bytes are not ours. */
  static times(buf: Buffer): { expiresAt: number; staleUntil: number; writeId: number; writtenAt: number } | undefined {
    if (buf.length < HEADER_BYTES || (buf[0]! & 0xf0) !== VERSION) return undefined;
    return { expiresAt: buf.readDoubleBE(1), staleUntil: buf.readDoubleBE(9), writeId: buf.readDoubleBE(17), writtenAt: buf.readDoubleBE(25) };
  }

  /** Throws CACHE_VALUE_INVALID on bytes that are not a valid entry (another version, corruption). */
  decode(buf: Buffer): Decoded {
    if (buf.length < HEADER_BYTES + 1 || (buf[0]! & 0xf0) !== VERSION) {
      throw new CacheError('CACHE_VALUE_INVALID', `cache entry has an unknown format (first byte ${buf[0] ?? 'none'}, ${buf.length} bytes)`, { bytes: buf.length });
    }
    const flags = buf[0]!;
    let decoded: unknown;
    try {
      if (flags & FLAG_COMPRESSED) {
        decoded = this.packr().unpack(inflateRawSync(buf.subarray(HEADER_BYTES), { maxOutputLength: this.maxValueBytes }));
      } else {
        // Unpack in place (no subarray view per read): the hot L2 path.
        this.range.end = buf.length;
        decoded = this.packr().unpack(buf, this.range);
      }
    } catch (err) {
      throw new CacheError('CACHE_VALUE_INVALID', `cache entry cannot be decoded: ${(err as Error).message}`, { bytes: buf.length }, { cause: err });
    }
    let value = decoded;
    let tags: readonly string[] | undefined;
    if (flags & FLAG_TAGGED) {
      if (!Array.isArray(decoded) || decoded.length !== 2 || !Array.isArray(decoded[1]) || !(decoded[1] as unknown[]).every((t) => typeof t === 'string')) {
        throw new CacheError('CACHE_VALUE_INVALID', 'cache entry tags are not strings', { bytes: buf.length });
      }
      value = decoded[0];
      tags = decoded[1] as string[];
    }
    return { value, expiresAt: buf.readDoubleBE(1), staleUntil: buf.readDoubleBE(9), writeId: buf.readDoubleBE(17), writtenAt: buf.readDoubleBE(25), tags, size: buf.length, buf, epoch: 0 };
  }
}

/** Bytes 17-24 of an encoded entry, as the lease script compares them. */
export function versionOf(writeId: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeDoubleBE(writeId, 0);
  return b;
}

/** A fresh write id: random, never 0 (52 bits of randomness; two writes colliding is not a concern). */
export function newWriteId(): number {
  return Math.random() || 0.5;
}
