import { existsSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { ValidationContext } from './findings';
import { VERSION_TOKEN } from '../format/version-token';

/** The documents the spec requires, relative to the docs folder. */
export const REQUIRED_DOCS = [
  'deployment/DEPLOYMENT_GUIDE.md',
  'deployment/ROLLBACK_PROCEDURES.md',
  'deployment/CI_CD_GUIDE.md',
  'operations/OPERATIONS_RUNBOOK.md',
  'operations/MONITORING_GUIDE.md',
  'operations/INCIDENT_RESPONSE.md',
  'security/SECURITY_GUIDE.md',
  'api/API_REFERENCE.md',
];

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/`([^`]*)`/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\s-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown document: its headings' (see `slug`) and its `<a id>` or `<a name>`. */
export function markdownAnchors(text: string): Set<string> {
  return readMarkdown(text).anchors;
}

interface MarkdownFacts {
  anchors: Set<string>;
  links: Array<{ target: string; line: number }>;
  lines: string[];
}

function readMarkdown(text: string): MarkdownFacts {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  const links: MarkdownFacts['links'] = [];
  const lines = text.split('\n');
  let fence: string | undefined;
  lines.forEach((line, i) => {
    const f = /^\s*(```+|~~~+)/.exec(line);
    if (f) {
      if (!fence) fence = f[1][0];
      else if (f[1][0] === fence) fence = undefined;
      return;
    }
    if (fence) return;
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      // A repeated anchor gets -1, -2... (github-slugger: also past an anchor a heading already made).
      const base = slug(h[1]);
      let anchor = base;
      while (counts.has(anchor)) {
        const n = counts.get(base)! + 1;
        counts.set(base, n);
        anchor = `${base}-${n}`;
      }
      counts.set(anchor, 0);
      anchors.add(anchor);
    }
    for (const a of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(a[1]);
    const prose = line.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ target: m[1], line: i + 1 });
    for (const m of prose.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/g)) links.push({ target: m[1], line: i + 1 });
  });
  return { anchors, links, lines };
}

export function validateDocs(ctx: ValidationContext): void {
  const top = ctx.section;
  ctx.requireFiles('required documents', 'docs/required', REQUIRED_DOCS, 'is a required document and is missing');
  ctx.checks.add('links and anchors');
  ctx.checks.add('version in the documents');
  const markdown = ctx.files.filter((f) => f.path.endsWith('.md')).map((f) => f.path);
  const facts = new Map(markdown.map((p) => [p, readMarkdown(readFileSync(ctx.abs(p), 'utf8'))]));
  for (const [file, md] of facts) {
    for (const { target, line } of md.links) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue;
      const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
      const resolved = pathPart ? posix.normalize(posix.join(posix.dirname(file), decodeURIComponent(pathPart))) : file;
      if (!resolved.startsWith(`${top}/`)) {
        ctx.add('docs/link', file, line, `links to ${target}, outside the ${top}/ folder: not checked here`, 'note');
        continue;
      }
      if (!existsSync(ctx.abs(resolved))) {
        ctx.add('docs/link', file, line, `links to ${target}, which does not exist in the package`);
        continue;
      }
      if (anchor !== undefined) {
        const targetFacts = facts.get(resolved);
        if (!targetFacts) continue;
        if (!targetFacts.anchors.has(anchor))
          ctx.add('docs/anchor', file, line, `links to ${target}: ${resolved} has no heading with the anchor #${anchor}`);
      }
    }
    md.lines.forEach((text, i) => {
      if (text.includes(VERSION_TOKEN)) ctx.add('docs/version', file, i + 1, `still holds the ${VERSION_TOKEN} placeholder`);
      const versions = [
        ...text.matchAll(/\*\*(?:Release|Version):\*\*\s*v?(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)/g),
        ...text.matchAll(/spacetime-vr(?:-v|:|-)(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)(?=\.tar\.gz|\b|\/|`|$)/g),
      ].map((m) => m[1].replace(/\.$/, ''));
      for (const v of versions) {
        if (v !== ctx.version) ctx.add('docs/version', file, i + 1, `names version ${v}, but VERSION is ${ctx.version}`);
      }
    });
  }
}
