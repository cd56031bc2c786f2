import { ReleaseError } from '../support/errors';

type Schema = {
  $ref?: string;
  type?: string;
  format?: string;
  description?: string;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
};
type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: Schema }[];
  requestBody?: { required?: boolean; description?: string; content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
};
type OpenApi = {
  openapi?: string;
  info?: { title?: string; description?: string };
  servers?: { url: string; description?: string }[];
  paths?: Record<string, Record<string, Operation>>;
  components?: {
    schemas?: Record<string, Schema>;
    securitySchemes?: Record<string, { type?: string; scheme?: string; name?: string; in?: string; description?: string }>;
  };
};

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** The API reference in Markdown, generated from the server's OpenAPI 3 description. */
export function openApiReference(document: unknown, version: string, shownAs: string): string {
  const api = document as OpenApi;
  if (!api || typeof api !== 'object' || !String(api.openapi ?? '').startsWith('3.')) {
    throw new ReleaseError('is not an OpenAPI 3 document (no `openapi: 3.x` field)', { file: shownAs });
  }
  if (!api.paths || Object.keys(api.paths).length === 0) throw new ReleaseError('has no paths to document', { file: shownAs });
  const out: string[] = [];
  out.push(`# ${api.info?.title ?? 'API'} reference`, '', `**Release:** ${version}`, '');
  out.push(`Generated from \`${shownAs.split('/').pop()}\` (OpenAPI ${api.openapi}) when the release package was built.`, '');
  if (api.info?.description) out.push(api.info.description.trim(), '');
  if (api.servers?.length) {
    out.push('## Servers', '', ...api.servers.map((s) => `- \`${s.url}\`${s.description ? `: ${s.description}` : ''}`), '');
  }
  const schemes = api.components?.securitySchemes ?? {};
  if (Object.keys(schemes).length) {
    out.push('## Authentication', '', '| Scheme | Type | Details |', '| --- | --- | --- |');
    for (const [name, s] of Object.entries(schemes)) {
      const details = [s.scheme && `scheme ${s.scheme}`, s.name && `${s.in} \`${s.name}\``, s.description].filter(Boolean).join('; ');
      out.push(`| \`${name}\` | ${s.type ?? ''} | ${cell(details)} |`);
    }
    out.push('');
  }
  out.push('## Endpoints', '');
  for (const [path, item] of Object.entries(api.paths)) {
    for (const method of METHODS.filter((m) => item[m])) out.push(...operation(method, path, item[method]));
  }
  const schemas = api.components?.schemas ?? {};
  if (Object.keys(schemas).length) {
    out.push('## Schemas', '');
    for (const [name, schema] of Object.entries(schemas)) out.push(...schemaSection(name, schema));
  }
  return (
    out
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trimEnd() + '\n'
  );
}

function operation(method: string, path: string, op: Operation): string[] {
  const out = [`### ${method.toUpperCase()} \`${path}\``, ''];
  if (op.summary) out.push(`**${op.summary.trim()}**`, '');
  if (op.description) out.push(op.description.trim(), '');
  const facts = [op.operationId && `Operation ID: \`${op.operationId}\``, op.tags?.length && `Tags: ${op.tags.join(', ')}`];
  if (op.security)
    facts.push(
      `Authentication: ${
        op.security.length
          ? op.security
              .map(
                (s) =>
                  Object.keys(s)
                    .map((k) => `\`${k}\``)
                    .join(' + ') || 'none',
              )
              .join(' or ')
          : 'none'
      }`,
    );
  out.push(...facts.filter(Boolean).map((f) => `- ${f}`), '');
  if (op.parameters?.length) {
    out.push('| Parameter | In | Type | Required | Description |', '| --- | --- | --- | --- | --- |');
    for (const p of op.parameters)
      out.push(`| \`${p.name}\` | ${p.in} | ${typeName(p.schema)} | ${p.required ? 'yes' : 'no'} | ${cell(p.description)} |`);
    out.push('');
  }
  if (op.requestBody) {
    const bodies = Object.entries(op.requestBody.content ?? {}).map(([type, c]) => `\`${type}\` ${typeName(c.schema)}`);
    const description = op.requestBody.description ? `. ${op.requestBody.description.trim()}` : '';
    out.push(`Request body${op.requestBody.required ? ' (required)' : ''}: ${bodies.join(', ')}${description}`, '');
  }
  if (op.responses) {
    out.push('| Status | Description | Body |', '| --- | --- | --- |');
    for (const [status, r] of Object.entries(op.responses)) {
      const body = Object.entries(r.content ?? {})
        .map(([type, c]) => `\`${type}\` ${typeName(c.schema)}`)
        .join(', ');
      out.push(`| ${status} | ${cell(r.description)} | ${body} |`);
    }
    out.push('');
  }
  return out;
}

function schemaSection(name: string, schema: Schema): string[] {
  const out = [`### ${name}`, ''];
  if (schema.description) out.push(schema.description.trim(), '');
  if (schema.properties) {
    const required = new Set(schema.required ?? []);
    out.push('| Field | Type | Required | Description |', '| --- | --- | --- | --- |');
    for (const [field, s] of Object.entries(schema.properties))
      out.push(`| \`${field}\` | ${typeName(s)} | ${required.has(field) ? 'yes' : 'no'} | ${cell(s.description)} |`);
    out.push('');
  } else {
    out.push(`Type: ${typeName(schema)}`, '');
  }
  return out;
}

function typeName(schema?: Schema): string {
  if (!schema) return '';
  if (schema.$ref) {
    const name = schema.$ref.split('/').pop()!;
    return `[${name}](#${name.toLowerCase()})`;
  }
  if (schema.type === 'array') return `array of ${typeName(schema.items)}`;
  const base = schema.format ? `${schema.type} (${schema.format})` : (schema.type ?? 'object');
  return schema.enum ? `${base}: ${schema.enum.map((v) => `\`${v}\``).join(', ')}` : base;
}

function cell(text?: string): string {
  return (text ?? '')
    .trim()
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|');
}
