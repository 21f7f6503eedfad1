import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { webRoute } from '../../lib/http/web';
import type { EngineConfig } from '../../lib/config';

const dir = mkdtempSync(join(tmpdir(), 'web-route-'));
writeFileSync(join(dir, 'index.html'), '<meta name="engine-ws-url" content="%WS_URL%">');
writeFileSync(join(dir, 'ticket.js'), 'console.log(1)');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const route = (assetsDir: string, wsUrl = 'ws://127.0.0.1:3001') => webRoute({ WEB_ASSETS_DIR: assetsDir, WS_PUBLIC_URL: wsUrl } as EngineConfig);
const get = (path: string) => ({ rawPath: path }) as APIGatewayProxyEventV2;

describe('the web ticket route', () => {
  it('serves the page with the WebSocket URL written in, attribute-escaped, under a CSP without eval', async () => {
    const page = await route(dir, 'wss://x.example/dev?a="b"&c')(get('/'));
    expect(page.statusCode).toBe(200);
    expect(page.headers?.['content-type']).toMatch(/^text\/html/);
    expect(page.body).toBe('<meta name="engine-ws-url" content="wss://x.example/dev?a=&#34;b&#34;&#38;c">');
    expect(String(page.headers?.['content-security-policy'])).not.toContain('unsafe-eval');
  });

  it('serves the script as JavaScript and nothing it does not name', async () => {
    const script = await route(dir)(get('/ticket.js'));
    expect(script).toMatchObject({ statusCode: 200, body: 'console.log(1)' });
    expect(script.headers?.['content-type']).toMatch(/^text\/javascript/);
    expect((await route(dir)(get('/../package.json'))).statusCode).toBe(404);
    expect((await route(dir)(get('/index.html'))).statusCode).toBe(404);
  });

  it('says which file is missing when the ticket is not built (503)', async () => {
    const missing = await route(join(dir, 'nowhere'))(get('/asyncapi.json'));
    expect(missing.statusCode).toBe(503);
    expect(missing.body).toContain('asyncapi.json missing');
  });
});
