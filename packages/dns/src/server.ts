import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import dns2 from 'dns2';
import { lookup, type DnsView } from './view';

const { Packet } = dns2;
type Request = InstanceType<typeof Packet>;
type Record_ = Request['answers'][number];
/** A resource record as dns2 encodes it (its typings describe the decoded shape). */
const rr = (r: Record<string, unknown>): Record_ => r as unknown as Record_;

export interface DnsServerOptions {
  /** The current view; read on every query, so a new view takes effect at once. */
  view: () => DnsView | null;
  /** Where names outside the cluster's zones go (host:port or host); none: SERVFAIL. */
  upstreams: string[];
  address?: string;
  /** 0: a free port (the same one for UDP and TCP). */
  port: number;
  forwardTimeoutMs?: number;
}

export interface DnsServer {
  address: string;
  port: number;
  close(): Promise<void>;
}

/** The host's resolvers from /etc/resolv.conf, leaving out `exclude` (our own address: no loops). */
export function hostResolvers(exclude: string[] = [], file = '/etc/resolv.conf'): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined && !exclude.includes(x));
}

const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Packet.TYPE as Record<string, number>).map(([k, v]) => [v, k]),
);

/**
 * A DNS server over UDP and TCP (dns2): cluster names from the view, with the view's TTL;
 * NXDOMAIN (with an SOA) for unknown names in the cluster's zones; everything else forwarded to
 * the upstream resolvers as it came.
 */
export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const address = opts.address ?? '0.0.0.0';
  const server = dns2.createServer({
    udp: true,
    tcp: true,
    handle: (request: Request, send: (r: Request) => void) => {
      void answer(request, opts)
        .then(send)
        .catch(() => {
          const r = Packet.createResponseFromRequest(request);
          r.header.rcode = Packet.RCODE.SERVFAIL;
          send(r);
        });
    },
  });
  server.on('requestError', () => undefined);
  server.on('error', () => undefined);
  const servers = (
    server as unknown as {
      servers: Record<'udp' | 'tcp', { listen(p: number, a: string): void; address(): { port: number } }>;
    }
  ).servers;
  const udpListening = new Promise<void>((resolve, reject) => {
    (servers.udp as unknown as dgram.Socket).once('listening', () => resolve());
    (servers.udp as unknown as dgram.Socket).once('error', reject);
  });
  servers.udp.listen(opts.port, address);
  await udpListening;
  const port = servers.udp.address().port;
  const tcpListening = new Promise<void>((resolve, reject) => {
    (servers.tcp as unknown as NodeJS.EventEmitter).once('listening', () => resolve());
    (servers.tcp as unknown as NodeJS.EventEmitter).once('error', reject);
  });
  servers.tcp.listen(port, address);
  await tcpListening;
  return {
    address,
    port,
    close: async () => {
      await server.close();
    },
  };
}

async function answer(request: Request, opts: DnsServerOptions): Promise<Request> {
  const [question] = request.questions;
  const response = Packet.createResponseFromRequest(request);
  response.header.ra = 1;
  const view = opts.view();
  if (!question) {
    response.header.rcode = Packet.RCODE.FORMERR;
    return response;
  }
  const type = TYPE_NAMES[question.type] ?? String(question.type);
  const found = view
    ? lookup(view, question.name, type)
    : ({ kind: 'forward', name: question.name } as const);
  if (found.kind === 'forward') return forward(request, opts);
  const ttl = view!.ttl;
  response.header.aa = 1;
  const soa = () => ({
    name: found.name.split('.').slice(-1)[0] ?? found.name,
    type: Packet.TYPE.SOA,
    class: Packet.CLASS.IN,
    ttl,
    primary: 'ns.atoll',
    admin: 'hostmaster.atoll',
    serial: 1,
    refresh: 60,
    retry: 60,
    expiration: 86400,
    minimum: ttl,
  });
  switch (found.kind) {
    case 'a':
      for (const address of found.addresses)
        response.answers.push(
          rr({ name: question.name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl, address }),
        );
      break;
    case 'srv':
      for (const t of found.targets) {
        response.answers.push(
          rr({
            name: question.name,
            type: Packet.TYPE.SRV,
            class: Packet.CLASS.IN,
            ttl,
            priority: 0,
            weight: 0,
            port: t.port,
            target: t.target,
          }),
        );
        for (const address of t.addresses)
          response.additionals.push(
            rr({ name: t.target, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl, address }),
          );
      }
      break;
    case 'nodata':
      response.authorities.push(rr(soa()));
      break;
    case 'nxdomain':
      response.header.rcode = Packet.RCODE.NXDOMAIN;
      response.authorities.push(rr(soa()));
      break;
  }
  return response;
}

/** Sends the query as it came to each upstream in turn; the first answer wins. */
async function forward(request: Request, opts: DnsServerOptions): Promise<Request> {
  const query = request.toBuffer();
  for (const upstream of opts.upstreams) {
    const [host, port] =
      upstream.includes(':') && !upstream.includes('::') ? upstream.split(':') : [upstream, '53'];
    try {
      const buf = await udpExchange(query, host!, Number(port), opts.forwardTimeoutMs ?? 2_000);
      return Packet.parse(buf);
    } catch {
      continue;
    }
  }
  const r = Packet.createResponseFromRequest(request);
  r.header.ra = 1;
  r.header.rcode = Packet.RCODE.SERVFAIL;
  return r;
}

function udpExchange(query: Buffer, host: string, port: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error('upstream timeout'));
    }, timeoutMs);
    sock.once('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(msg);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      sock.close();
      reject(err);
    });
    sock.send(query, port, host);
  });
}
