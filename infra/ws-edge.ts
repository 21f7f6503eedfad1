/**
 * The embedded stack's WebSocket edge: what API Gateway does in front of the routes and serverless-offline does not.
 * Clients connect here (127.0.0.1:WS_PORT); each client connection is relayed, frame for frame, over its own
 * connection to serverless-offline on a loopback port of its own, so `$connect`, the routes and the Management API
 * behave exactly as before. What the edge adds, each one a way a single client could otherwise hurt everyone:
 *
 * - Message size: at most 128 KB per message, API Gateway's quota
 *   (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html, "Amazon API Gateway quotas for
 *   configuring and running a WebSocket API"). serverless-offline accepts 100 MiB (ws's default `maxPayload`), so a
 *   few large messages could fill its heap, which every Lambda shares. Larger ones close the connection with 1009.
 * - A client that stops reading: what is waiting to be written to it is bounded (EDGE_SEND_BUFFER_BYTES); past the
 *   bound the connection is cut, the way API Gateway drops a client that cannot keep up, instead of buffering frames
 *   until the process runs out of memory and drops every connection of every account.
 * - A client that writes faster than the routes can take: once what waits to go upstream passes the same bound, the
 *   edge stops reading that client's socket (TCP backpressure on the sender alone) until it drains.
 * - Shutdown: every client is closed with 1001 (going away), so a planned restart is not mistaken for a crash (1006).
 *   A lost upstream (the Lambda host died and is being restarted) closes its clients with 1012 (service restart).
 * - Only WebSocket upgrades are answered: the Management API (`/@connections`) stays on the internal port, where only
 *   the routes use it, as on AWS where it needs IAM credentials.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { type Logger, silentLogger } from './log';

/** API Gateway's WebSocket message payload quota (see the module comment). */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/** Bytes waiting to be written to one client (or upstream for it) before the edge acts. */
export const DEFAULT_SEND_BUFFER_BYTES = 1024 * 1024;

/** RFC 6455 section 7.4.1 close codes the edge sends. */
const GOING_AWAY = 1001;
const SERVICE_RESTART = 1012;
/** How long a client whose upstream vanished waits for a shutdown to close it with 1001 instead. */
const LOST_UPSTREAM_GRACE_MS = 250;
/** Codes a peer may report but nobody may send (RFC 6455 section 7.4.1): 1005 no status, 1006 abnormal, 1015 TLS. */
const RESERVED_CLOSE_CODES = new Set([1005, 1006, 1015]);

/** Request headers that belong to one hop (RFC 9110 section 7.6.1) or to the WebSocket handshake itself. */
const NOT_FORWARDED = /^(host|connection|upgrade|keep-alive|transfer-encoding|te|trailer|proxy-.*|sec-websocket-.*)$/i;

export interface WsEdgeOptions {
  /** Public port, on 127.0.0.1. */
  port: number;
  /** serverless-offline's WebSocket port, on 127.0.0.1. */
  upstreamPort: number;
  sendBufferBytes?: number;
  maxMessageBytes?: number;
  log?: Logger;
}

export interface WsEdgeStats {
  open: number;
  opened: number;
  refused: number;
  cutSlowReaders: number;
  pausedSenders: number;
}

export interface WsEdge {
  port: number;
  stats(): WsEdgeStats;
  /** Closes every client with 1001, waits up to graceMs for their close handshakes, then stops listening. */
  stop(graceMs?: number): Promise<void>;
}

interface Link {
  client: WebSocket;
  upstream: WebSocket;
  /** Bytes handed to `upstream.send` whose callback has not run yet. */
  pendingUp: number;
  paused: boolean;
}

const closeReason = (reason: Buffer | string): string => {
  const text = typeof reason === 'string' ? reason : reason.toString('utf8');
  // A close reason is at most 123 bytes (RFC 6455 section 5.5: control frame payload 125, minus the code).
  return Buffer.byteLength(text) > 123 ? text.slice(0, 60) : text;
};

/** Answers an upgrade that will not become a WebSocket with a plain HTTP response, then closes the socket. */
const refuseUpgrade = (socket: Duplex, status: number, statusText: string, body: string): void => {
  if (socket.destroyed) return;
  const payload = Buffer.from(body, 'utf8');
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n${payload.toString('utf8')}`,
  );
};

export const startWsEdge = async (options: WsEdgeOptions): Promise<WsEdge> => {
  const log = options.log ?? silentLogger;
  const sendBufferBytes = options.sendBufferBytes ?? DEFAULT_SEND_BUFFER_BYTES;
  const maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
  const links = new Set<Link>();
  const counts = { opened: 0, refused: 0, cutSlowReaders: 0, pausedSenders: 0 };
  let stopping = false;

  const wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes, perMessageDeflate: false, clientTracking: false });

  const link = (client: WebSocket, upstream: WebSocket): void => {
    const l: Link = { client, upstream, pendingUp: 0, paused: false };
    links.add(l);
    counts.opened++;

    client.on('message', (data: Buffer, isBinary) => {
      if (upstream.readyState !== WebSocket.OPEN) return;
      l.pendingUp += data.length;
      upstream.send(data, { binary: isBinary }, () => {
        l.pendingUp -= data.length;
        if (l.paused && l.pendingUp < sendBufferBytes / 2 && client.readyState === WebSocket.OPEN) {
          l.paused = false;
          client.resume();
        }
      });
      if (!l.paused && l.pendingUp > sendBufferBytes) {
        l.paused = true;
        counts.pausedSenders++;
        client.pause();
      }
    });

    upstream.on('message', (data: Buffer, isBinary) => {
      if (client.readyState !== WebSocket.OPEN) return;
      // What already waits is judged, not the new frame: one large answer to a client that reads is fine.
      if (client.bufferedAmount > sendBufferBytes) {
        counts.cutSlowReaders++;
        log.warn(`cut a client that stopped reading: ${client.bufferedAmount} bytes waiting for it (EDGE_SEND_BUFFER_BYTES ${sendBufferBytes})`);
        client.terminate();
        upstream.close(GOING_AWAY, 'client too slow');
        return;
      }
      client.send(data, { binary: isBinary });
    });

    client.on('close', (code, reason) => {
      links.delete(l);
      if (upstream.readyState === WebSocket.OPEN || upstream.readyState === WebSocket.CONNECTING) {
        if (RESERVED_CLOSE_CODES.has(code)) upstream.close();
        else upstream.close(code, closeReason(reason));
      }
    });
    upstream.on('close', (code, reason) => {
      if (client.readyState !== WebSocket.OPEN) return;
      if (code === 1006) {
        /*
         * Ctrl-C reaches the whole process group: serverless-offline may drop its sockets a moment before this
         * process starts its own shutdown. Waiting briefly lets that shutdown answer 1001 rather than 1012.
         */
        setTimeout(() => {
          if (client.readyState === WebSocket.OPEN && !stopping) client.close(SERVICE_RESTART, 'the engine is restarting; reconnect');
        }, LOST_UPSTREAM_GRACE_MS).unref();
      } else if (RESERVED_CLOSE_CODES.has(code)) client.close();
      else client.close(code, closeReason(reason));
    });
    // An 'error' without a listener would throw; each is followed by 'close', which does the work.
    client.on('error', (error) => log.debug(`client socket: ${error.message}`));
    upstream.on('error', (error) => log.debug(`upstream socket: ${error.message}`));
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (stopping) {
      refuseUpgrade(socket, 503, 'Service Unavailable', 'the engine is shutting down');
      return;
    }
    // From the raw headers, so a header sent twice reaches $connect twice (Node would join it into one value).
    const headers: Record<string, string[]> = {};
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      const name = (req.rawHeaders[i] as string).toLowerCase();
      if (!NOT_FORWARDED.test(name)) (headers[name] ??= []).push(req.rawHeaders[i + 1] as string);
    }
    const protocols = req.headers['sec-websocket-protocol']?.split(',').map((p) => p.trim()).filter(Boolean);
    const upstream = new WebSocket(`ws://127.0.0.1:${options.upstreamPort}${req.url ?? '/'}`, protocols, {
      headers,
      perMessageDeflate: false,
      maxPayload: 0,
      handshakeTimeout: 30_000,
    });
    let settled = false;
    const abandon = (): void => {
      if (!settled) upstream.terminate();
    };
    socket.once('close', abandon);
    upstream.once('open', () => {
      settled = true;
      socket.off('close', abandon);
      if (socket.destroyed) {
        upstream.close(GOING_AWAY);
        return;
      }
      wss.handleUpgrade(req, socket, head, (client) => link(client, upstream));
    });
    // $connect refused (401, 429, ...): the client gets the same status and body, as from API Gateway.
    upstream.once('unexpected-response', (_request, response) => {
      settled = true;
      counts.refused++;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.length < 16 && chunks.push(chunk));
      response.on('end', () => {
        refuseUpgrade(socket, response.statusCode ?? 502, response.statusMessage ?? '', Buffer.concat(chunks).toString('utf8').slice(0, 1024));
      });
      response.on('error', () => refuseUpgrade(socket, 502, 'Bad Gateway', ''));
    });
    upstream.once('error', (error) => {
      if (settled) return;
      settled = true;
      log.warn(`upstream connect failed: ${error.message}`);
      refuseUpgrade(socket, 502, 'Bad Gateway', 'the engine is not answering; retry shortly');
    });
  };

  const server: Server = createServer((_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket', Connection: 'close' });
    res.end('this port speaks WebSocket only (PROTOCOL.md)\n');
  });
  server.on('upgrade', onUpgrade);
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: options.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;

  return {
    port,
    stats: () => ({ open: links.size, ...counts }),
    stop: async (graceMs = 1_000) => {
      stopping = true;
      const closing = [...links].map(
        ({ client, upstream }) =>
          new Promise<void>((resolve) => {
            if (client.readyState === WebSocket.CLOSED) return resolve();
            client.once('close', () => resolve());
            client.close(GOING_AWAY, 'the engine is shutting down');
            upstream.close(GOING_AWAY);
          }),
      );
      await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, graceMs))]);
      for (const { client, upstream } of links) {
        client.terminate();
        upstream.terminate();
      }
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
