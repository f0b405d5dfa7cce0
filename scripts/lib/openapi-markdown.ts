/**
 * Renders the OpenAPI document as docs/api.md: the contract the service implements, kept
 * in the repository and regenerated from the live document (`npm run docs:api`), so it can
 * be read without a running service and reviewed in diffs.
 */
/* eslint-disable @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/restrict-template-expressions, @typescript-eslint/restrict-plus-operands, @typescript-eslint/no-base-to-string --
   This renderer walks an arbitrary OpenAPI document (typed `Json`, i.e. `any`) and prints whatever
   each field holds; a typed model of OpenAPI 3 would be larger than the renderer. */
import { ERROR_STATUS, ERROR_TITLE, ErrorCode } from '../../src/common/errors/error-codes';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const refName = (ref: string): string => ref.split('/').pop() ?? ref;
const anchor = (name: string): string => `#${name.toLowerCase()}`;
const cell = (text: unknown): string =>
  String(text ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\n+/g, ' ');

/** A schema in one line: `string (uuid)`, `array of [TaskResponseDto](#taskresponsedto)`, `one of …`. */
export function typeOf(schema: Json | undefined): string {
  if (!schema) return '';
  if (schema.$ref) return `[${refName(schema.$ref)}](${anchor(refName(schema.$ref))})`;
  if (schema.oneOf) return `one of ${schema.oneOf.map(typeOf).join(', ')}`;
  if (schema.allOf) return schema.allOf.map(typeOf).join(' and ') + (schema.nullable ? ' or null' : '');
  let type = schema.type === 'array' ? `array of ${typeOf(schema.items)}` : String(schema.type ?? 'any');
  if (schema.enum) type = schema.enum.map((v: unknown) => `\`${String(v)}\``).join(' | ');
  else if (schema.format) type += ` (${schema.format})`;
  if (schema.type === 'object' && schema.additionalProperties && !schema.properties) type = 'object';
  const limits = [
    schema.minimum !== undefined ? `≥ ${schema.minimum}` : '',
    schema.maximum !== undefined ? `≤ ${schema.maximum}` : '',
    schema.maxLength !== undefined ? `≤ ${schema.maxLength} chars` : '',
    schema.maxItems !== undefined ? `≤ ${schema.maxItems} items` : '',
  ].filter(Boolean);
  return type + (limits.length ? `, ${limits.join(', ')}` : '') + (schema.nullable ? ' or null' : '');
}

function describe(schema: Json): string {
  const parts = [schema.description ?? ''];
  if (schema.default !== undefined) parts.push(`Default: \`${JSON.stringify(schema.default)}\`.`);
  if (schema.pattern) parts.push(`Pattern: \`${schema.pattern}\`.`);
  return parts.filter(Boolean).join(' ');
}

function renderOperation(path: string, method: string, op: Json): string[] {
  const out = [`### ${method.toUpperCase()} ${path}`, ''];
  if (op.summary) out.push(op.summary, '');
  if (op.description) out.push(op.description, '');
  const params: Json[] = op.parameters ?? [];
  if (params.length) {
    out.push('| Parameter | In | Type | Required | Description |', '| --- | --- | --- | --- | --- |');
    for (const p of params)
      out.push(
        `| \`${p.name}\` | ${p.in} | ${cell(typeOf(p.schema))} | ${p.required ? 'yes' : 'no'} | ${cell(describe({ ...p.schema, description: p.description }))} |`,
      );
    out.push('');
  }
  const body = op.requestBody?.content?.['application/json'];
  if (body) {
    out.push(`Request body (application/json): ${typeOf(body.schema)}`, '');
    for (const [name, example] of Object.entries<Json>(body.examples ?? {})) {
      out.push(
        `Example \`${name}\`${example.summary ? ` (${example.summary})` : ''}:`,
        '',
        '```json',
        JSON.stringify(example.value, null, 2),
        '```',
        '',
      );
    }
  }
  out.push('| Status | Description | Body | Headers |', '| --- | --- | --- | --- |');
  for (const [status, response] of Object.entries<Json>(op.responses ?? {})) {
    const content = response.content ?? {};
    const media = Object.keys(content)[0];
    const bodyType = media ? `${media === 'application/json' ? '' : `${media}: `}${typeOf(content[media].schema)}` : '';
    out.push(
      `| ${status} | ${cell(response.description)} | ${cell(bodyType)} | ${Object.keys(response.headers ?? {}).join(', ')} |`,
    );
  }
  out.push('');
  return out;
}

function renderSchema(name: string, schema: Json): string[] {
  const out = [`### ${name}`, ''];
  if (schema.description) out.push(cell(schema.description), '');
  if (schema.oneOf) {
    out.push(
      `One of ${schema.oneOf.map(typeOf).join(', ')}${schema.discriminator ? `, chosen by \`${schema.discriminator.propertyName}\`` : ''}.`,
      '',
    );
    return out;
  }
  const properties = Object.entries<Json>(schema.properties ?? {});
  if (properties.length === 0) {
    out.push(`Type: ${typeOf(schema)}.`, '');
    return out;
  }
  out.push('| Field | Type | Required | Description |', '| --- | --- | --- | --- |');
  const required = new Set<string>(schema.required ?? []);
  for (const [field, property] of properties)
    out.push(
      `| \`${field}\` | ${cell(typeOf(property))} | ${required.has(field) ? 'yes' : 'no'} | ${cell(describe(property))} |`,
    );
  out.push('');
  if (schema.additionalProperties === true) out.push('Other keys are accepted and kept as sent.', '');
  return out;
}

/** Every error code the service sends, with its HTTP status and title (the filter's one table). */
function renderErrorCodes(): string[] {
  const out = ['| Code | HTTP status | Title |', '| --- | --- | --- |'];
  for (const code of Object.values(ErrorCode))
    out.push(`| \`${code}\` | ${ERROR_STATUS[code]} | ${ERROR_TITLE[code]} |`);
  return [...out, ''];
}

export function renderApiMarkdown(document: Json): string {
  const out = [
    `# ${document.info.title} API`,
    '',
    '<!-- Generated from the OpenAPI document (GET /docs-json) by `npm run docs:api`; do not edit by hand. -->',
    '',
    document.info.description,
    '',
    `Servers: ${(document.servers ?? []).map((s: Json) => `\`${s.url}\` (${s.description})`).join(', ')}.`,
    '',
    '## Errors',
    '',
    'Every error has the body [ErrorResponseDto](#errorresponsedto): `{ error, message, code, details }`. The codes:',
    '',
    ...renderErrorCodes(),
    '## Endpoints',
    '',
  ];
  for (const [path, item] of Object.entries<Json>(document.paths)) {
    for (const method of METHODS) if (item[method]) out.push(...renderOperation(path, method, item[method]));
  }
  out.push('## Schemas', '');
  for (const name of Object.keys(document.components?.schemas ?? {}).sort())
    out.push(...renderSchema(name, document.components.schemas[name]));
  return (
    out
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trimEnd() + '\n'
  );
}
