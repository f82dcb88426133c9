import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

/** A mail as the SMTP server received it. */
export interface ReceivedMail {
  /** Envelope recipients (RCPT TO), as sent. */
  to: string[];
  /** The From header, e.g. `Retail Auth <no-reply@localhost>` (the envelope sender when absent). */
  from: string;
  subject: string;
  text: string;
  html?: string;
  /** Every http(s) URL in the text and the HTML, in order of appearance, without duplicates. */
  links: string[];
}

export interface WaitForOptions {
  /** Only a mail whose subject matches. */
  subject?: RegExp;
  /** Only mail at this index of `messages` or later (pass `messages.length` to ignore what already arrived). */
  after?: number;
  /** Default 10 s. */
  timeoutMs?: number;
}

const URL_PATTERN = /https?:\/\/[^\s"'<>]+/gi;

function decodeHtmlEntities(value: string): string {
  return value
    .replace(/&#x([0-9a-f]+);/gi, (_m, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_m, dec: string) => String.fromCodePoint(parseInt(dec, 10)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** http(s) URLs of a text and an HTML body (entities decoded, trailing punctuation dropped). */
export function extractLinks(text: string, html?: string): string[] {
  const links = new Set<string>();
  const collect = (source: string, decode: boolean) => {
    for (const match of source.matchAll(URL_PATTERN)) {
      const url = (decode ? decodeHtmlEntities(match[0]) : match[0]).replace(/[.,;:!?)\]}]+$/, '');
      links.add(url);
    }
  };
  collect(text, false);
  if (html) collect(html, true);
  return [...links];
}

function toReceivedMail(parsed: ParsedMail, session: SMTPServerSession): ReceivedMail {
  const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
  const text = parsed.text ?? '';
  const html = typeof parsed.html === 'string' ? parsed.html : undefined;
  return {
    to: session.envelope.rcptTo.map((r) => r.address),
    from: parsed.from?.text || envelopeFrom,
    subject: parsed.subject ?? '',
    text,
    ...(html === undefined ? {} : { html }),
    links: extractLinks(text, html),
  };
}

/**
 * A real SMTP server on loopback (no TLS, no authentication) that keeps every mail it receives,
 * parsed. Point a service's SMTP_URL at `url` and read `messages`, or await `waitFor`.
 */
export class TestMailbox {
  readonly messages: ReceivedMail[] = [];
  /** Errors of client connections (a client that hung up, say); recorded, never thrown. */
  readonly errors: Error[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly server: SMTPServer;
  private stopped: Promise<void> | null = null;
  private boundPort = 0;

  private constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      disableReverseLookup: true,
      logger: false,
      // stop() waits at most this long for a client still connected.
      closeTimeout: 500,
      onData: (stream, session, callback) => {
        simpleParser(stream).then(
          (parsed) => {
            this.receive(toReceivedMail(parsed, session));
            callback();
          },
          (err: Error) => callback(err),
        );
      },
    });
  }

  /** Starts listening on 127.0.0.1 at `port` (0: any free port). */
  static async start(port = 0): Promise<TestMailbox> {
    const mailbox = new TestMailbox();
    const server = mailbox.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err: Error) => mailbox.errors.push(err));
    mailbox.boundPort = (server.server.address() as AddressInfo).port;
    return mailbox;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  private receive(mail: ReceivedMail): void {
    this.messages.push(mail);
    for (const listener of [...this.listeners]) listener();
  }

  /**
   * Resolves with the first mail to `to` (case-insensitive) at index `after` or later whose
   * subject matches; waits for one up to `timeoutMs`, then rejects listing what did arrive.
   */
  waitFor(to: string, options: WaitForOptions = {}): Promise<ReceivedMail> {
    const wanted = to.trim().toLowerCase();
    const from = options.after ?? 0;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const subject = options.subject ? new RegExp(options.subject.source, options.subject.flags.replace(/[gy]/g, '')) : undefined;
    const find = () =>
      this.messages
        .slice(from)
        .find((m) => m.to.some((address) => address.trim().toLowerCase() === wanted) && (!subject || subject.test(m.subject)));

    const found = find();
    if (found) return Promise.resolve(found);
    return new Promise<ReceivedMail>((resolve, reject) => {
      const check = () => {
        const mail = find();
        if (!mail) return;
        done();
        resolve(mail);
      };
      const timer = setTimeout(() => {
        done();
        const arrived = this.messages.map((m, i) => `  #${i} to ${m.to.join(', ')}: ${JSON.stringify(m.subject)}`);
        reject(
          new Error(
            `No mail to ${to}${subject ? ` with a subject matching ${subject}` : ''} from message #${from} on within ${timeoutMs} ms. ` +
              (arrived.length ? `Received ${arrived.length}:\n${arrived.join('\n')}` : 'No mail received at all.'),
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }

  /** Forgets every mail received so far (indices restart at 0). */
  clear(): void {
    this.messages.length = 0;
  }

  /** Stops listening; clients still connected are cut off after half a second. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => this.server.close(() => resolve()));
    return this.stopped;
  }
}
