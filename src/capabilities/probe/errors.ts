import { CodeError } from '../../platform/errors.js';

export type ProbeErrorCode =
  /** A target (or an address it resolves to) is outside the allowlist; nothing was sent. */
  | 'PROBE_TARGET_DENIED'
  /** A target is neither an IP address, a CIDR block nor a host name. */
  | 'PROBE_TARGET_INVALID'
  /** A host name did not resolve. */
  | 'PROBE_DNS_FAILED'
  /** A port list cannot be read or holds ports outside 1-65535. */
  | 'PROBE_PORTS_INVALID'
  /** The request exceeds a bound (addresses, ports × addresses, concurrency, timeout). */
  | 'PROBE_LIMIT_EXCEEDED'
  /** The caller aborted the scan. */
  | 'PROBE_ABORTED'
  /** No stored probe with that id. */
  | 'PROBE_NOT_FOUND';

export class ProbeError extends CodeError<ProbeErrorCode> {}
