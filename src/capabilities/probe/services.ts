/**
 * Names for well-known TCP ports (IANA / nmap-services spelling) and a few banner signatures.
 * A label is a hint, not a fingerprint: it says what usually listens there.
 */
const PORTS: Readonly<Record<number, string>> = {
  7: 'echo', 20: 'ftp-data', 21: 'ftp', 22: 'ssh', 23: 'telnet', 25: 'smtp', 53: 'domain', 67: 'dhcps', 69: 'tftp',
  80: 'http', 88: 'kerberos', 110: 'pop3', 111: 'rpcbind', 119: 'nntp', 123: 'ntp', 135: 'msrpc', 139: 'netbios-ssn',
  143: 'imap', 161: 'snmp', 179: 'bgp', 389: 'ldap', 443: 'https', 445: 'microsoft-ds', 465: 'smtps', 514: 'shell',
  515: 'printer', 587: 'submission', 631: 'ipp', 636: 'ldaps', 873: 'rsync', 993: 'imaps', 995: 'pop3s',
  1080: 'socks', 1433: 'ms-sql-s', 1521: 'oracle', 1883: 'mqtt', 2049: 'nfs', 2181: 'zookeeper', 2375: 'docker',
  2376: 'docker-tls', 2379: 'etcd-client', 2380: 'etcd-server', 3000: 'http-alt', 3306: 'mysql', 3389: 'ms-wbt-server',
  4222: 'nats', 4369: 'epmd', 5000: 'http-alt', 5432: 'postgresql', 5601: 'kibana', 5672: 'amqp', 5900: 'vnc',
  5984: 'couchdb', 6379: 'redis', 6443: 'kubernetes-api', 7000: 'cassandra', 8000: 'http-alt', 8080: 'http-proxy',
  8086: 'influxdb', 8443: 'https-alt', 8500: 'consul', 8883: 'secure-mqtt', 9000: 'http-alt', 9042: 'cassandra-cql',
  9090: 'prometheus', 9092: 'kafka', 9093: 'alertmanager', 9100: 'node-exporter', 9200: 'elasticsearch',
  9300: 'elasticsearch-transport', 9418: 'git', 10250: 'kubelet', 11211: 'memcache', 15672: 'rabbitmq-management',
  25672: 'rabbitmq-dist', 27017: 'mongodb', 50051: 'grpc',
};

// Dense table, built at the first lookup: a full scan asks 65,535 times; an idle server never.
let byPort: Array<string | null> | undefined;

/** The usual service on `port`, or null. */
export function serviceForPort(port: number): string | null {
  if (byPort === undefined) {
    byPort = new Array<string | null>(65536).fill(null);
    for (const [p, name] of Object.entries(PORTS)) byPort[Number(p)] = name;
  }
  return byPort[port] ?? null;
}

/** The ports with a label, ascending: the default port list of a probe. */
export function wellKnownPorts(): number[] {
  return Object.keys(PORTS).map(Number).sort((a, b) => a - b);
}

const BANNERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^SSH-\d/, 'ssh'],
  [/^220[ -].*\bE?SMTP\b/i, 'smtp'],
  [/^220[ -].*\bFTP\b/i, 'ftp'],
  [/^\+OK\b/, 'pop3'],
  [/^\* OK\b/, 'imap'],
  [/^RFB \d{3}\.\d{3}/, 'vnc'],
  [/^INFO \{"server_id"/, 'nats'],
  [/^HTTP\/\d/, 'http'],
  [/mysql_native_password|caching_sha2_password/, 'mysql'],
  [/^-ERR|^\+PONG/, 'redis'],
];

/** A service named by what it said first, or undefined. */
export function serviceFromBanner(banner: string): string | undefined {
  for (const [re, name] of BANNERS) if (re.test(banner)) return name;
  return undefined;
}

/** Printable form of the first bytes a service sent: control bytes become `.`, at most 256 characters. */
export function cleanBanner(buf: Buffer): string {
  let out = '';
  for (let i = 0; i < buf.length && out.length < 256; i++) {
    const c = buf[i]!;
    out += c === 9 || (c >= 32 && c < 127) ? String.fromCharCode(c) : c === 10 || c === 13 ? ' ' : '.';
  }
  return out.trim().replace(/\s+/g, ' ');
}
