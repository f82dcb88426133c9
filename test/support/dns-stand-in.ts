import { createSocket, RemoteInfo, Socket } from 'node:dgram';
import { AddressInfo } from 'node:net';
import * as dnsPacket from 'dns-packet';

/** How the stand-in treats a name besides answering from its records. */
export type DnsMisbehaviour = 'servfail' | 'timeout';

const RCODE_NXDOMAIN = 3;
const RCODE_SERVFAIL = 2;

/**
 * A tiny authoritative DNS server on 127.0.0.1 (UDP, a random port) for the domain-verification
 * tests: a test publishes TXT records at run time, every other name is NXDOMAIN, and a name can be
 * told to answer SERVFAIL or never to answer. Instances use it with `SSO_DNS_SERVERS=<address>`.
 */
export class DnsStandIn {
  private readonly txt = new Map<string, Array<string | string[]>>();
  private readonly misbehaviour = new Map<string, DnsMisbehaviour>();
  /** Every question asked, `name TYPE`, in order (names lowercased, no trailing dot). */
  readonly questions: string[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on('message', (msg, from) => this.answer(msg, from));
  }

  static async start(): Promise<DnsStandIn> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return new DnsStandIn(socket);
  }

  /** `127.0.0.1:<port>`, what SSO_DNS_SERVERS takes. */
  get address(): string {
    return `127.0.0.1:${(this.socket.address() as AddressInfo).port}`;
  }

  /**
   * The env of an instance that asks this stand-in, with lookups given up after 500 ms. The suites
   * verify many domains from 127.0.0.1, in parallel too, so the per-address limit of verifications
   * is out of their way (it has a test of its own, with an instance of its own).
   */
  env(): Record<string, string> {
    return { SSO_DNS_SERVERS: this.address, SSO_DNS_TIMEOUT: '500ms', RATE_LIMIT_SSO_VERIFY_IP: '1000/1m' };
  }

  /**
   * Publishes TXT records at `name` (replacing any): each record a string, or its chunks (one
   * record made of several character-strings, as DNS splits values longer than 255 bytes).
   */
  publishTxt(name: string, ...records: Array<string | string[]>): void {
    this.txt.set(normalize(name), records);
    this.misbehaviour.delete(normalize(name));
  }

  /** Removes every record of `name` (it becomes NXDOMAIN) and any misbehaviour. */
  unpublish(name: string): void {
    this.txt.delete(normalize(name));
    this.misbehaviour.delete(normalize(name));
  }

  /** Questions about `name` get SERVFAIL, or no answer at all, until unpublish() or publishTxt(). */
  misbehave(name: string, how: DnsMisbehaviour): void {
    this.misbehaviour.set(normalize(name), how);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private answer(msg: Buffer, from: RemoteInfo): void {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (!question) return;
    const name = normalize(question.name);
    this.questions.push(`${name} ${question.type}`);
    const how = this.misbehaviour.get(name);
    if (how === 'timeout') return;
    const records = this.txt.get(name);
    let rcode = 0;
    if (how === 'servfail') rcode = RCODE_SERVFAIL;
    else if (!records) rcode = RCODE_NXDOMAIN;
    const answers: dnsPacket.Answer[] =
      rcode === 0 && question.type === 'TXT' ? (records ?? []).map((data) => ({ type: 'TXT', name: question.name, ttl: 60, class: 'IN', data })) : [];
    // A name with records but none of the asked type is NOERROR without answers (NODATA).
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | rcode,
      questions: [question],
      answers,
    });
    this.socket.send(response, from.port, from.address);
  }
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/**
 * Registers beforeAll/afterAll for a stand-in; the returned function gives it. Once it is started,
 * its env() is copied into `env`, so an instance started by a later beforeAll (useMailingInstance
 * with that env) asks it.
 */
export function useDnsStandIn(env: Record<string, string | undefined> = {}): () => DnsStandIn {
  let current: DnsStandIn | undefined;
  beforeAll(async () => {
    current = await DnsStandIn.start();
    Object.assign(env, current.env());
  });
  afterAll(() => current?.stop());
  return () => {
    if (!current) throw new Error('the DNS stand-in is not started yet');
    return current;
  };
}
