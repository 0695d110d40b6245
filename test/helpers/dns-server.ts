// An authoritative-only DNS server for tests, on UDP 127.0.0.1 and a random port, built on dns2's
// UDP server. It answers from an in-memory table the test edits while it runs, so a test can
// publish a record, change it or take it away between two checks.
//
// Known limit: it speaks UDP only and answers within the classic 512-byte budget (dns2 sets the TC
// bit beyond it, and a resolver would then retry over TCP, which nobody serves), so keep each
// name's records small; the SES records are about 100 bytes.

import type { AddressInfo } from 'node:net';

import DNS from 'dns2';

const { Packet } = DNS;
type Packet = DNS.Packet;

/** RFC 1035 response code for a name that does not exist; dns2's typings leave `RCODE` out. */
const NXDOMAIN = 3;
/** The longest character-string a TXT record can carry in one piece. */
const TXT_CHUNK = 255;

interface Entry {
  /** Each TXT record as its character-strings. */
  txt: string[][];
  cnames: string[];
}

/**
 * A loopback DNS server whose records tests add, change and remove at run time.
 *
 * - A name with records answers them for their type and NODATA (no error, no answer) for any other
 *   type; an unknown name answers NXDOMAIN.
 * - A name passed to {@link TestDnsServer.silence} gets no answer at all, so resolvers time out.
 * - Names are matched without case and without a trailing dot.
 * - {@link TestDnsServer.queries} counts the questions received, in total or for one name.
 *
 * @example
 * const dns = await TestDnsServer.start();
 * const service = await startTestService({ NUMONIC_DNS_SERVERS: dns.address });
 * const body = { domain_name: 'shop.com' };
 * const { body: domain } = await request(service.url, 'POST', '/api/v1/domains', { token, body });
 * dns.publish(domain.dns_records); // every record, as the customer would add them
 * dns.setCname(domain.dns_records[1].name, 'wrong.example.net'); // then one goes wrong
 * // ...
 * await dns.close();
 */
export class TestDnsServer {
  private readonly entries = new Map<string, Entry>();
  private readonly silenced = new Set<string>();
  private readonly counts = new Map<string, number>();
  private total = 0;

  private constructor(
    private readonly socket: DNS.UDPServer,
    /** The UDP port the server listens on. */
    readonly port: number,
  ) {}

  /** Starts a server on 127.0.0.1 and a free port, with no records. */
  static async start(): Promise<TestDnsServer> {
    let server: TestDnsServer | undefined;
    const socket = DNS.createUDPServer((request, send) => {
      // Requests can only arrive once `listen` resolved, by which time `server` is set.
      const response = server?.answer(request);
      if (response !== undefined) {
        void send(response);
      }
    });
    // A malformed datagram must not throw inside the socket's handler and crash the test run.
    socket.on('requestError', () => undefined);
    await socket.listen(0, '127.0.0.1');

    server = new TestDnsServer(socket, (socket.address() as AddressInfo).port);
    return server;
  }

  /** `127.0.0.1:<port>`, the form `NUMONIC_DNS_SERVERS` takes. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /**
   * Replaces the TXT records of `name`. Each value is one record: a string (split into 255-byte
   * character-strings when longer) or its character-strings as an array.
   */
  setTxt(name: string, ...records: (string | string[])[]): void {
    const entry = this.entry(name);
    entry.txt = records.map((record) => (typeof record === 'string' ? chunks(record) : record));
  }

  /** Replaces the CNAME of `name`; more than one target is wrong in DNS, and allowed for tests. */
  setCname(name: string, ...targets: string[]): void {
    this.entry(name).cnames = targets;
  }

  /**
   * Serves records as the API lists them (`dns_records` items), replacing what their names held:
   * what a customer does at their DNS host.
   */
  publish(records: readonly { type: string; name: string; value: string }[]): void {
    for (const record of records) {
      if (record.type === 'TXT') {
        this.setTxt(record.name, record.value);
      } else if (record.type === 'CNAME') {
        this.setCname(record.name, record.value);
      } else {
        throw new Error(`TestDnsServer serves TXT and CNAME records, not ${record.type}.`);
      }
    }
  }

  /** Removes every record of `name`, so it answers NXDOMAIN again. */
  remove(name: string): void {
    this.entries.delete(key(name));
  }

  /** Stops answering `name` (until {@link TestDnsServer.unsilence}), so lookups of it time out. */
  silence(name: string): void {
    this.silenced.add(key(name));
  }

  unsilence(name: string): void {
    this.silenced.delete(key(name));
  }

  /** Removes every record and every silence; the query counts are kept. */
  clear(): void {
    this.entries.clear();
    this.silenced.clear();
  }

  /** Questions received so far, for `name` when given, else in total. */
  queries(name?: string): number {
    return name === undefined ? this.total : (this.counts.get(key(name)) ?? 0);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  /** The response to `request`, or undefined to leave it unanswered. */
  private answer(request: Packet): Packet | undefined {
    const response = Packet.createResponseFromRequest(request);
    const [question] = request.questions;
    if (question === undefined) {
      return response;
    }

    const name = key(question.name);
    this.total += 1;
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    if (this.silenced.has(name)) {
      return undefined;
    }

    const entry = this.entries.get(name);
    if (entry === undefined) {
      response.header.rcode = NXDOMAIN;
      return response;
    }

    const base = { name: question.name, class: Packet.CLASS.IN, ttl: 1 };
    if (question.type === Packet.TYPE.TXT) {
      for (const data of entry.txt) {
        response.answers.push(new Packet.Resource({ ...base, type: Packet.TYPE.TXT, data }));
      }
    }
    if (question.type === Packet.TYPE.CNAME) {
      for (const domain of entry.cnames) {
        response.answers.push(new Packet.Resource({ ...base, type: Packet.TYPE.CNAME, domain }));
      }
    }
    return response;
  }

  private entry(name: string): Entry {
    const existing = this.entries.get(key(name));
    if (existing !== undefined) {
      return existing;
    }
    const entry: Entry = { txt: [], cnames: [] };
    this.entries.set(key(name), entry);
    return entry;
  }
}

function key(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function chunks(text: string): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const parts: string[] = [];
  for (let start = 0; start < bytes.length; start += TXT_CHUNK) {
    parts.push(bytes.subarray(start, start + TXT_CHUNK).toString('utf8'));
  }
  return parts.length === 0 ? [''] : parts;
}
