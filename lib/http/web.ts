import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { EngineConfig } from '../config';

/*
 * The web order ticket (web/): its page and its one script, served by the HTTP API at the root of its base URL (and the
 * WebSocket API's AsyncAPI document beside them). The
 * page is told the WebSocket URL to use (WS_PUBLIC_URL); the API key is the user's to give (it never is in the page).
 */
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/ticket.js': { file: 'ticket.js', type: 'text/javascript; charset=utf-8' },
  // The WebSocket API's AsyncAPI 3 document, generated from the engine's schemas at build time (infra/asyncapi.ts).
  '/asyncapi.json': { file: 'asyncapi.json', type: 'application/json; charset=utf-8' },
  // The HTTP API's OpenAPI 3.1 document (infra/openapi.ts).
  '/openapi.json': { file: 'openapi.json', type: 'application/json; charset=utf-8' },
};

const escapeAttribute = (text: string): string => text.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);

export const webRoute =
  (config: EngineConfig) =>
  async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const served = FILES[event.rawPath];
    if (!served) return { statusCode: 404, headers: { 'content-type': 'text/plain' }, body: 'not found' };
    let body: string;
    try {
      body = await readFile(join(config.WEB_ASSETS_DIR, served.file), 'utf8');
    } catch {
      return { statusCode: 503, headers: { 'content-type': 'text/plain' }, body: `the web ticket is not built (${served.file} missing in ${config.WEB_ASSETS_DIR})` };
    }
    if (served.file === 'index.html') body = body.replace('%WS_URL%', escapeAttribute(config.WS_PUBLIC_URL));
    return {
      statusCode: 200,
      headers: {
        'content-type': served.type,
        'cache-control': 'no-cache',
        // The page talks only to this origin and the engine's WebSocket; nothing else runs or loads.
        'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
        'x-content-type-options': 'nosniff',
      },
      body,
    };
  };
