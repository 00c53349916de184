// Real listeners and a real DNS server on loopback, for the probe tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, isIPv6, type AddressInfo, type Server, type Socket } from 'node:net';

export interface Listener {
  host: string;
  port: number;
  close(): Promise<void>;
}

function track(server: Server, host: string): Promise<Listener> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('error', () => {}); // scanners reset connections: that is not the listener's failure
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        host,
        port,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

/** Accepts and says `banner` (if any) at once. */
export function listen(host: string, banner?: string): Promise<Listener> {
  return track(createServer((s) => { if (banner) s.write(banner); }), host);
}

/** Accepts, then says nothing for `delayMs` before its banner: an application that is slow to serve. */
export function slowListener(host: string, delayMs: number, banner = 'slow hello\r\n'): Promise<Listener> {
  return track(createServer({ pauseOnConnect: true }, (s) => {
    const t = setTimeout(() => { if (!s.destroyed) { s.resume(); s.write(banner); } }, delayMs);
    s.on('close', () => clearTimeout(t));
  }), host);
}

/** A port nothing listens on (bound once, then closed). */
export async function closedPort(host: string): Promise<number> {
  const l = await listen(host);
  await l.close();
  return l.port;
}

/**
 * A port whose SYNs go unanswered: a listener in a stopped child process with a backlog of one,
 * whose accept queue we fill first. The kernel then drops further SYNs, as a firewall would.
 */
export async function filteredPort(host: string): Promise<{ port: number; close(): Promise<void> }> {
  const code = `const s=require('net').createServer(()=>{}).listen({host:${JSON.stringify(host)},port:0,backlog:1},()=>{process.stdout.write(String(s.address().port)+'\\n')})`;
  const child: ChildProcess = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = Number(await new Promise<string>((r) => child.stdout!.once('data', (d) => r(String(d).trim()))));
  process.kill(child.pid!, 'SIGSTOP');
  const held: Socket[] = [];
  // Fill the accept queue: connect until one attempt stays unanswered.
  for (let i = 0; i < 8; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      s.on('error', () => resolve(false));
      const t = setTimeout(() => { s.destroy(); resolve(false); }, 300);
      s.once('connect', () => { clearTimeout(t); held.push(s); resolve(true); });
    });
    if (!ok) break;
  }
  return {
    port,
    close: async () => {
      for (const s of held) s.destroy();
      process.kill(child.pid!, 'SIGKILL');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** A DNS server on 127.0.0.1 answering A and AAAA queries from `zone`; NXDOMAIN for other names. */
export async function dnsServer(zone: Record<string, string[]>): Promise<{ address: string; queries: string[]; close(): Promise<void> }> {
  const sock: UdpSocket = createSocket('udp4');
  const queries: string[] = [];
  sock.on('message', (msg, rinfo) => {
    let off = 12;
    const labels: string[] = [];
    while (msg[off]! > 0) {
      labels.push(msg.subarray(off + 1, off + 1 + msg[off]!).toString('ascii'));
      off += msg[off]! + 1;
    }
    off++;
    const qtype = msg.readUInt16BE(off);
    const question = msg.subarray(12, off + 4);
    const name = labels.join('.').toLowerCase();
    queries.push(`${name}/${qtype === 28 ? 'AAAA' : qtype === 1 ? 'A' : qtype}`);
    const known = zone[name];
    const answers = (known ?? []).filter((a) => (qtype === 28 ? isIPv6(a) : qtype === 1 ? !isIPv6(a) : false));
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0);
    header.writeUInt16BE(known ? 0x8180 : 0x8183, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const rrs = answers.map((a) => {
      const rdata = isIPv6(a) ? ipv6Bytes(a) : Buffer.from(a.split('.').map(Number));
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(qtype, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(rdata.length, 10);
      return Buffer.concat([rr, rdata]);
    });
    sock.send(Buffer.concat([header, question, ...rrs]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return { address: `127.0.0.1:${sock.address().port}`, queries, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

function ipv6Bytes(a: string): Buffer {
  const [head, tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return b;
}
