/**
 * A TCP proxy in front of the API server that can freeze: while frozen, nothing passes in either
 * direction and what arrives is held, as on a stalled network path; on thaw, what is held is
 * delivered, in order, on every connection whose ends are both still open. A connection one end
 * closed while frozen is torn down without delivering what it held (its peer reset it before the
 * path healed), so a request the client abandoned never reaches the server, and one it did not
 * abandon does, however late.
 */
import { createServer, type Server, type Socket } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket;
  toUpstream: Buffer[];
  toClient: Buffer[];
  closed: boolean;
}

export class FrozenProxy {
  #server: Server | undefined;
  #frozen = false;
  readonly #pairs = new Set<Pair>();
  readonly targetPort: number;
  /** Connections torn down while frozen, with bytes the client had sent and the server never got. */
  droppedRequests = 0;

  constructor(targetPort: number) {
    this.targetPort = targetPort;
  }

  /** Listens on a free loopback port; resolves to it. */
  start(): Promise<number> {
    const server = createServer((client) => this.#connect(client));
    this.#server = server;
    return new Promise((resolve) =>
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      }),
    );
  }

  get frozen(): boolean {
    return this.#frozen;
  }

  freeze(): void {
    this.#frozen = true;
  }

  thaw(): void {
    this.#frozen = false;
    for (const pair of this.#pairs) {
      if (pair.closed) continue;
      for (const chunk of pair.toUpstream.splice(0)) pair.upstream.write(chunk);
      for (const chunk of pair.toClient.splice(0)) pair.client.write(chunk);
    }
  }

  async stop(): Promise<void> {
    for (const pair of this.#pairs) this.#close(pair);
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  #connect(client: Socket): void {
    const upstream = new (client.constructor as typeof Socket)();
    const pair: Pair = { client, upstream, toUpstream: [], toClient: [], closed: false };
    this.#pairs.add(pair);
    upstream.connect(this.targetPort, '127.0.0.1');
    client.on('data', (chunk: Buffer) => {
      if (this.#frozen || pair.toUpstream.length > 0) pair.toUpstream.push(chunk);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (this.#frozen || pair.toClient.length > 0) pair.toClient.push(chunk);
      else client.write(chunk);
    });
    const end = () => {
      if (this.#frozen && pair.toUpstream.length > 0) this.droppedRequests++;
      this.#close(pair);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', () => {});
    upstream.on('error', () => {});
  }

  #close(pair: Pair): void {
    if (pair.closed) return;
    pair.closed = true;
    pair.toUpstream.length = 0;
    pair.toClient.length = 0;
    pair.client.destroy();
    pair.upstream.destroy();
    this.#pairs.delete(pair);
  }
}
