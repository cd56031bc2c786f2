import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { PackedFile, readFragment, readMadeFile, SectionFragment } from '../format/fragment';
import { ReleaseError } from '../support/errors';
import { markdownAnchors, slug } from './docs';
import { ValidationContext } from './findings';
import { locatedDocument } from './yaml-lines';

/** The section whose documents the alerts' runbook links point into. */
export const RUNBOOK_SECTION = 'docs';

const RULE = 'monitoring/runbook-link';

/** One alert's `runbook_url` annotation, where it is written. */
export interface RunbookLink {
  file: string;
  line?: number;
  alert: string;
  url: string;
}

/** The `runbook_url` annotations of the alerting rules in Prometheus rule files (package paths). */
export function runbookLinks(ctx: ValidationContext, ruleFiles: string[]): RunbookLink[] {
  const links: RunbookLink[] = [];
  for (const file of ruleFiles) {
    let doc;
    try {
      doc = locatedDocument(readFileSync(ctx.abs(file), 'utf8'), file);
    } catch (e) {
      if (e instanceof ReleaseError) continue; // promtool reports the file
      throw e;
    }
    const groups = (doc.value as { groups?: unknown })?.groups;
    if (!Array.isArray(groups)) continue;
    groups.forEach((group, g) => {
      const rules = group?.rules;
      if (!Array.isArray(rules)) return;
      rules.forEach((rule, r) => {
        const url = rule?.annotations?.runbook_url;
        if (typeof url !== 'string') return;
        const line = doc.lineOf(['groups', g, 'rules', r, 'annotations', 'runbook_url']);
        links.push({ file, line, alert: String(rule.alert ?? rule.record ?? `rule ${r}`), url });
      });
    });
  }
  return links;
}

/**
 * Every alert's `runbook_url` (a path relative to the root of the package, `docs/...md#anchor`)
 * names a document the docs section packaged, and a heading of it: the anchors are GitHub's.
 * A URL with a scheme, or a path outside `docs/`, is not checked here (a note says so).
 */
export function checkRunbookLinks(ctx: ValidationContext, ruleFiles: string[]): void {
  ctx.checks.add(`alert runbook links into ${RUNBOOK_SECTION}/`);
  const links = runbookLinks(ctx, ruleFiles);
  const inPackage = links.filter(({ file, line, alert, url }) => {
    const path = url.split('#', 1)[0];
    const outside = /^[a-z][a-z0-9+.-]*:/i.test(url) || url.startsWith('//') || url.startsWith('/');
    if (!outside && posix.normalize(path).startsWith(`${RUNBOOK_SECTION}/`)) return true;
    ctx.add(RULE, file, line, `runbook_url of ${alert} (${url}) is not a path into ${RUNBOOK_SECTION}/: not checked`, 'note');
    return false;
  });
  if (!inPackage.length) return;
  const docs = packagedDocs(ctx);
  if (!docs) return;
  const anchorsOf = new Map<string, Set<string>>();
  for (const { file, line, alert, url } of inPackage) {
    const hash = url.indexOf('#');
    const path = posix.normalize(decode(hash < 0 ? url : url.slice(0, hash)));
    const anchor = hash < 0 ? '' : decode(url.slice(hash + 1));
    const shipped = docs.get(path);
    if (!shipped) {
      ctx.add(RULE, file, line, `runbook_url of ${alert} (${url}): the ${RUNBOOK_SECTION} section ships no ${path}`);
      continue;
    }
    if (!anchor) continue;
    let anchors = anchorsOf.get(path);
    if (!anchors) anchorsOf.set(path, (anchors = markdownAnchors(shipped().toString('utf8'))));
    if (anchors.has(anchor)) continue;
    const guess = slug(alert);
    ctx.add(
      RULE,
      file,
      line,
      `runbook_url of ${alert} (${url}): ${path} has no heading with the anchor #${anchor}` +
        (guess !== anchor && anchors.has(guess) ? ` (its heading ${alert} has the anchor #${guess})` : ''),
    );
  }
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The packaged documents of the docs section by package path, each read when asked for. */
function packagedDocs(ctx: ValidationContext): Map<string, () => Buffer> | undefined {
  const notRun = (why: string) =>
    ctx.add(RULE, ctx.section, undefined, `alert runbook links not checked: ${why}`, ctx.mode === 'production' ? 'error' : 'skip');
  if (!ctx.packaged) return void notRun('no package outputs given');
  const { workspaceRoot, outputs } = ctx.packaged;
  const output = join(outputs, RUNBOOK_SECTION);
  let fragment: SectionFragment;
  try {
    if (!existsSync(output))
      return void notRun(`the ${RUNBOOK_SECTION} section is not packaged (run \`nx run ${RUNBOOK_SECTION}:package\`)`);
    fragment = readFragment(output, RUNBOOK_SECTION, ctx.version);
  } catch (e) {
    if (!(e instanceof ReleaseError)) throw e;
    return void notRun(e.message);
  }
  const read = (file: PackedFile) => () => (file.source ? readFileSync(join(workspaceRoot, file.source)) : readMadeFile(output, file));
  return new Map(fragment.files.map((f) => [f.path, read(f)]));
}
