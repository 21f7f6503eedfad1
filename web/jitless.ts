import { z } from 'zod';

/*
 * Imported first by the page, before any schema exists: zod compiles object parsers with `new Function` unless told
 * not to, and the page's Content-Security-Policy (no 'unsafe-eval', lib/http/web.ts) refuses that, logging a violation
 * for the probe even though zod falls back. The schemas parse the same either way.
 */
z.config({ jitless: true });
