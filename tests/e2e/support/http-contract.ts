import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { buildOpenApi } from '../../../infra/openapi';

/*
 * The HTTP side of the contract test: every answer an e2e test gets from the HTTP API is checked against the OpenAPI
 * document's schema for its path, method and status (a status the document does not list is a violation too).
 */
type Operation = { responses: Record<string, { content?: { 'application/json': { schema: object } } }> };
const doc = buildOpenApi() as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, object> } };
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false, logger: false });
for (const [name, schema] of Object.entries(doc.components.schemas)) ajv.addSchema(schema, `#/components/schemas/${name}`);
const compiled = new Map<string, ValidateFunction>();

const templateOf = (path: string): string | undefined =>
  Object.keys(doc.paths).find((template) => new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path));

/** Why an answer is not one the OpenAPI document describes, or undefined when it is. */
export const httpContractViolation = (method: string, path: string, status: number, body: unknown): string | undefined => {
  const template = templateOf(path.split('?')[0] ?? path);
  const operation = template ? doc.paths[template]?.[method.toLowerCase()] : undefined;
  if (!operation) return `${method} ${path} is not in the OpenAPI document`;
  const schema = operation.responses[String(status)]?.content?.['application/json'].schema;
  if (!schema) return `${method} ${template} does not document a ${status} answer`;
  const key = `${method} ${template} ${status}`;
  let validate = compiled.get(key);
  if (!validate) {
    const ref = (schema as { $ref?: string }).$ref;
    validate = ref ? ajv.getSchema(ref) : ajv.compile(schema);
    if (!validate) return `${key}: unresolved ${ref}`;
    compiled.set(key, validate);
  }
  return validate(body) ? undefined : `${key}: ${ajv.errorsText(validate.errors)}`;
};
