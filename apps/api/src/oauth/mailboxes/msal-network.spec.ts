import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MsalNetworkClient } from './msal-network';

/** MSAL's network client against a local server that answers, fails or hangs. */
describe('MsalNetworkClient', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/ok') {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json', 'x-ms-request-id': 'r1' });
          res.end(JSON.stringify({ echoed: body }));
        });
      } else if (req.url === '/refused') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"error":"invalid_grant"}');
      } else if (req.url === '/fail') {
        res.writeHead(500);
        res.end('oops');
      } else if (req.url === '/redirect') {
        res.writeHead(302, { location: 'http://127.0.0.1:1/' });
        res.end();
      }
      // anything else hangs
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('answers status, headers and the parsed body; a 4xx goes back to MSAL to read the error', async () => {
    const net = new MsalNetworkClient(1000);
    const ok = await net.sendPostRequestAsync<{ echoed: string }>(`${base}/ok`, { body: 'grant_type=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(ok).toEqual({ status: 200, headers: expect.objectContaining({ 'x-ms-request-id': 'r1' }), body: { echoed: 'grant_type=x' } });
    const refused = await net.sendPostRequestAsync(`${base}/refused`, { body: '' });
    expect({ status: refused.status, failure: net.failure, last: net.lastErrorStatus }).toEqual({ status: 400, failure: null, last: 400 });
  });

  it('turns a 5xx, a redirect, a hang past the deadline and an unreachable host into a remembered failure', async () => {
    const net = new MsalNetworkClient(300);
    await expect(net.sendPostRequestAsync(`${base}/fail`, { body: '' })).rejects.toThrow();
    expect(net.failure).toBe('server_error');
    await expect(net.sendGetRequestAsync(`${base}/redirect`)).rejects.toThrow();
    expect(net.failure).toBe('bad_answer');
    const began = Date.now();
    await expect(net.sendPostRequestAsync(`${base}/hang`, { body: '' })).rejects.toThrow();
    expect({ failure: net.failure, fast: Date.now() - began < 2000 }).toEqual({ failure: 'timeout', fast: true });
    await expect(net.sendGetRequestAsync('http://127.0.0.1:1/')).rejects.toThrow();
    expect(net.failure).toBe('unreachable');
  });
});
