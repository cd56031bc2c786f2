import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { ReleaseError } from '../support/errors';
import { runTool, ValidationContext } from './findings';
import { checkMonitoringCopies } from './monitoring-copies';
import { checkRunbookLinks } from './monitoring-runbook';
import { locatedDocument } from './yaml-lines';

/** Address the kubernetes_sd_configs stand-ins point at (never scraped: promtool only parses). */
const SD_STAND_IN = 'kubernetes-sd.invalid:80';

/**
 * Turns a tool's failure output into findings: every line that names a line number becomes one,
 * with temporary paths shown as the package path; otherwise the last line of the output.
 */
export function toolFailure(ctx: ValidationContext, rule: string, file: string, output: string, tempPaths: string[] = []): void {
  let text = output;
  for (const p of tempPaths) text = text.split(p).join(file);
  const lines = text
    .split('\n')
    .map((l) => l.trim().replace(/^Checking '?\S+?'?\s+(?=FAILED)/, ''))
    .filter((l) => l && !/^Checking /.test(l) && !/failed to validate \d+ file|test failed$|^SUCCESS/.test(l));
  const located = lines.filter((l) => /\bline \d+|:\s?\d+:\d+|\.conf:\d+|\.ya?ml:\d+/.test(l));
  const reported = located.length ? located : lines.filter((l) => /FAIL|error|emerg|invalid|undefined|unknown/i.test(l)).slice(-3);
  if (!reported.length) reported.push(lines.pop() ?? 'failed');
  let source: string[] | undefined;
  for (const l of reported) {
    const m = /\bline (\d+)/.exec(l) ?? /:\s?(\d+):\d+/.exec(l) ?? /:(\d+)\b/.exec(l);
    let line = m ? Number(m[1]) : undefined;
    const quoted = /"([^"\n]{2,})"/.exec(l)?.[1];
    if (!line && quoted) {
      // No line from the tool: the first line of the file that holds the quoted value.
      source ??= readFileSync(ctx.abs(file), 'utf8').split('\n');
      const i = source.findIndex((s) => s.includes(quoted));
      if (i >= 0) line = i + 1;
    }
    ctx.add(rule, file, line, l.replace(/^FAILED:\s*/, ''));
  }
}

/**
 * Replaces every `kubernetes_sd_configs:` block with a `static_configs:` block of the same
 * number of lines (the rest commented out), so promtool's line numbers still match the original.
 */
export function standInForKubernetesSd(text: string): { text: string; replaced: number[] } {
  const lines = text.split('\n');
  const replaced: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)kubernetes_sd_configs:\s*(#.*)?$/.exec(lines[i]);
    if (!m) continue;
    const indent = m[1].length;
    replaced.push(i + 1);
    lines[i] = `${m[1]}static_configs:`;
    let itemIndent: number | undefined;
    for (let j = i + 1; j < lines.length; j++) {
      const line = lines[j];
      if (!line.trim() || line.trim().startsWith('#')) continue;
      const ind = line.length - line.trimStart().length;
      if (ind < indent || (ind === indent && !line.trimStart().startsWith('- '))) break;
      if (line.trimStart().startsWith('- ') && (itemIndent === undefined || ind === itemIndent)) {
        itemIndent = ind;
        lines[j] = `${' '.repeat(ind)}- targets: ["${SD_STAND_IN}"]`;
      } else {
        lines[j] = `${' '.repeat(ind)}# ${line.trimStart()}`;
      }
    }
  }
  return { text: lines.join('\n'), replaced };
}

/** `promtool check config` (which also checks the rule files it names). */
export function checkPrometheusConfig(ctx: ValidationContext, file: string): void {
  const promtool = ctx.tool('promtool', `promtool check config ${file}`);
  if (!promtool || !existsSync(ctx.abs(file))) return;
  const first = runTool(promtool, ['check', 'config', ctx.abs(file)]);
  if (first.status === 0) return;
  if (!/field kubernetes_sd_configs not found/.test(first.output))
    return toolFailure(ctx, 'promtool/config', file, first.output, [ctx.abs(file)]);
  // This promtool (Debian's) is built without Kubernetes service discovery: check a copy where
  // each kubernetes_sd_configs block is an equivalent static_configs block, and say so.
  const copy = join(ctx.temp(), `prometheus-${ctx.findings.length}`);
  cpSync(dirname(ctx.abs(file)), copy, { recursive: true });
  const { text, replaced } = standInForKubernetesSd(readFileSync(ctx.abs(file), 'utf8'));
  const copied = join(copy, basename(file));
  writeFileSync(copied, text);
  ctx.add(
    'promtool/kubernetes-sd',
    file,
    replaced[0],
    'this promtool has no Kubernetes service discovery: checked a copy where the kubernetes_sd_configs ' +
      `at lines ${replaced.join(', ')} are static_configs (${SD_STAND_IN}); the rest of the file is checked as shipped`,
    'note',
  );
  const second = runTool(promtool, ['check', 'config', copied]);
  if (second.status !== 0) toolFailure(ctx, 'promtool/config', file, second.output, [copied]);
}

export function checkPrometheusRules(ctx: ValidationContext, files: string[]): void {
  if (!files.length) return;
  const promtool = ctx.tool('promtool', 'promtool check rules');
  if (!promtool) return;
  for (const file of files) {
    const run = runTool(promtool, ['check', 'rules', ctx.abs(file)]);
    if (run.status !== 0) toolFailure(ctx, 'promtool/rules', file, run.output, [ctx.abs(file)]);
  }
}

export function checkAlertmanager(ctx: ValidationContext, file: string): void {
  const amtool = ctx.tool('amtool', `amtool check-config ${file}`);
  if (!amtool || !existsSync(ctx.abs(file))) return;
  const run = runTool(amtool, ['check-config', ctx.abs(file)], { cwd: dirname(ctx.abs(file)) });
  if (run.status !== 0) return toolFailure(ctx, 'amtool/config', file, run.output, [ctx.abs(file)]);
  checkReceiverSecrets(ctx, file);
}

/**
 * Secrets of Alertmanager integrations, as data: each field that holds one inline. Its
 * `<field>_file` reads it from a file instead, which the deploy script creates from the
 * deployment's secrets. `global` holds the defaults every receiver of that kind inherits.
 */
export const RECEIVER_SECRETS: Array<{ configs: string; field: string }> = [
  { configs: 'global', field: 'slack_api_url' },
  { configs: 'global', field: 'opsgenie_api_key' },
  { configs: 'global', field: 'victorops_api_key' },
  { configs: 'global', field: 'smtp_auth_password' },
  { configs: 'pagerduty_configs', field: 'routing_key' },
  { configs: 'pagerduty_configs', field: 'service_key' },
  { configs: 'slack_configs', field: 'api_url' },
  { configs: 'opsgenie_configs', field: 'api_key' },
  { configs: 'victorops_configs', field: 'api_key' },
  { configs: 'telegram_configs', field: 'bot_token' },
  { configs: 'discord_configs', field: 'webhook_url' },
  { configs: 'msteams_configs', field: 'webhook_url' },
  { configs: 'email_configs', field: 'auth_password' },
];

/**
 * Every receiver secret is read from a file, at an absolute path: Alertmanager opens a relative
 * `*_file` of an integration from its working directory, not from the folder of its configuration
 * (only `http_config` paths are resolved against that folder).
 */
export function checkReceiverSecrets(ctx: ValidationContext, file: string): void {
  ctx.checks.add('alertmanager receiver secrets from files');
  let doc;
  try {
    doc = locatedDocument(readFileSync(ctx.abs(file), 'utf8'), file);
  } catch (e) {
    if (!(e instanceof ReleaseError)) throw e;
    return ctx.add('alertmanager/secret-file', file, e.line, e.message.replace(/^\S+?:(\d+:)? /, ''));
  }
  const config = (doc.value ?? {}) as Obj;
  const places: Array<{ kind: string; path: Array<string | number>; settings: Obj }> = [
    { kind: 'global', path: ['global'], settings: config.global ?? {} },
  ];
  (config.receivers ?? []).forEach((receiver: Obj, r: number) => {
    for (const [kind, list] of Object.entries(receiver ?? {}))
      if (Array.isArray(list))
        list.forEach((settings, i) => places.push({ kind, path: ['receivers', r, kind, i], settings: settings ?? {} }));
  });
  for (const { kind, path, settings } of places) {
    for (const { field } of RECEIVER_SECRETS.filter((s) => s.configs === kind && settings[s.field] !== undefined))
      ctx.add(
        'alertmanager/secret-file',
        file,
        doc.lineOf([...path, field]),
        `${kind}.${field} holds its secret in the file: ` +
          `use ${field}_file with the path of a file the deploy script creates from the secret`,
      );
    for (const [field, value] of Object.entries(settings)) {
      if (!field.endsWith('_file') || typeof value !== 'string' || isAbsolute(value)) continue;
      ctx.add(
        'alertmanager/secret-file',
        file,
        doc.lineOf([...path, field]),
        `${field}: "${value}" is relative: Alertmanager opens it from its working directory, ` +
          "not from this file's folder; give an absolute path",
      );
    }
  }
}

type Obj = Record<string, any>;
const QUERY_FIELDS = ['expr', 'expression', 'query', 'rawSql'];
const NO_DATASOURCE = new Set(['row', 'text', 'news', 'dashlist']);

/** Grafana dashboards: valid JSON, unique uids, every panel a datasource, every query an expression. */
export function checkDashboards(ctx: ValidationContext, files: string[]): void {
  ctx.checks.add('grafana dashboards');
  const uids = new Map<string, string>();
  for (const file of files) {
    const text = readFileSync(ctx.abs(file), 'utf8');
    try {
      JSON.parse(text);
    } catch (e) {
      const position = /position (\d+)/.exec((e as Error).message);
      ctx.add(
        'grafana/json',
        file,
        position ? text.slice(0, Number(position[1])).split('\n').length : undefined,
        `is not valid JSON: ${(e as Error).message.split('\n')[0]}`,
      );
      continue;
    }
    let doc;
    try {
      doc = locatedDocument(text, file);
    } catch (e) {
      if (!(e instanceof ReleaseError)) throw e;
      ctx.add('grafana/json', file, e.line, 'is not valid JSON');
      continue;
    }
    const dash = (doc.value as Obj).dashboard ?? doc.value;
    const base: Array<string | number> = (doc.value as Obj).dashboard ? ['dashboard'] : [];
    if (!dash.uid) ctx.add('grafana/uid', file, doc.lineOf([...base, 'uid']), 'the dashboard has no uid');
    else if (uids.has(dash.uid))
      ctx.add('grafana/uid', file, doc.lineOf([...base, 'uid']), `uid "${dash.uid}" is also the uid of ${uids.get(dash.uid)}`);
    else uids.set(dash.uid, file);
    const visit = (panels: Obj[] | undefined, path: Array<string | number>) => {
      (panels ?? []).forEach((panel, i) => {
        const at = [...path, i];
        const title = panel.title ? `panel "${panel.title}"` : `panel ${i}`;
        if (!NO_DATASOURCE.has(panel.type) && !panel.datasource && !dash.datasource)
          ctx.add('grafana/datasource', file, doc.lineOf(at), `${title} has no datasource`);
        (panel.targets ?? []).forEach((target: Obj, t: number) => {
          const has = QUERY_FIELDS.some((f) => typeof target[f] === 'string' && target[f].trim());
          if (!has)
            ctx.add('grafana/expr', file, doc.lineOf([...at, 'targets', t]), `${title}, query ${target.refId ?? t}, has no expression`);
        });
        visit(panel.panels, [...at, 'panels']);
      });
    };
    visit(dash.panels, [...base, 'panels']);
    (dash.rows ?? []).forEach((row: Obj, r: number) => visit(row.panels, [...base, 'rows', r, 'panels']));
  }
}

export function validateMonitoring(ctx: ValidationContext): void {
  const top = ctx.section;
  const prometheusConfigs = ctx.filesUnder(`${top}/prometheus`, /\/prometheus\.ya?ml$/).map((f) => f.path);
  for (const file of prometheusConfigs) checkPrometheusConfig(ctx, file);
  const rules = ctx
    .filesUnder(`${top}/prometheus`, /\.ya?ml$/)
    .map((f) => f.path)
    .filter((p) => !prometheusConfigs.includes(p));
  checkPrometheusRules(ctx, rules);
  checkRunbookLinks(ctx, rules);
  for (const f of ctx.filesUnder(`${top}/alertmanager`, /\.ya?ml$/)) checkAlertmanager(ctx, f.path);
  checkDashboards(
    ctx,
    ctx.filesUnder(`${top}/grafana`, /\.json$/).map((f) => f.path),
  );
  checkMonitoringCopies(ctx);
}
