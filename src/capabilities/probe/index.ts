/**
 * The service prober: TCP connect scans of names, addresses and CIDR blocks, limited to an
 * allowlist (loopback by default). See prober.ts for the API and scanner.ts for the engine.
 */
export { ProbeError, type ProbeErrorCode } from './errors.js';
export { createDnsLookup, Prober, readBanner, type HttpCheckResult, type HttpGet, type Lookup, type ProbeReport, type ProbeRequest, type ProbeResult, type ProbeState, type ProbeSummary, type ProberOptions, type ScanOptions } from './prober.js';
export { connectScan, tcpBinding, PortState, type EngineOptions, type EngineResult, type EngineStats, type ScanJob } from './scanner.js';
export { serviceForPort, serviceFromBanner, wellKnownPorts } from './services.js';
export { Allowlist, DEFAULT_ALLOWLIST, expandCidr, normalizeAddress, parsePorts, parseTarget, type ParsedTarget } from './targets.js';
export { createProbeService, type ProbeHistory, type ProbeRecord, type ProbeService } from './service.js';
