import { Manifest } from '../format/manifest';
import { compareBytes } from '../support/stable-json';
import { formatBytes } from './change';
import { changeCount, ReleaseDiff } from './release-diff';
import { TaskOutcome, TaskRun } from './task-graph';
import { SectionValidation } from './validation-results';

export interface ReportModel {
  manifest: Manifest;
  /** `spacetime-vr-v<version>` */
  packageName: string;
  /** The archives beside the folder, with their sizes. */
  archives: Array<{ name: string; size: number }>;
  publicKey: string;
  validation: SectionValidation[];
  /** Undefined when release:assemble recorded no task graph. */
  tasks?: TaskRun[];
  /** The Nx profile the durations came from, if one was found. */
  profile?: string;
  diff?: ReleaseDiff;
}

/** Escapes text for HTML content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const h = escapeHtml;

/** The release report: one self-contained HTML page (inline CSS and SVG, no script, no requests). */
export function renderReportHtml(model: ReportModel): string {
  const m = model.manifest;
  const configurationBadge = badge(m.configuration === 'production' ? 'pass' : 'note', m.configuration);
  const signingBadge = m.signing.development ? badge('fail', 'development signing key') : badge('pass', `signed ${m.signing.mode}`);
  const skippedBadge = m.skipped.length ? badge('skipped', `${m.skipped.length} skipped`) : '';
  const changesTitle = model.diff ? `Changes since ${model.diff.from.version}` : 'Changes';
  const changes = model.diff ? diff(model.diff) : NO_PREVIOUS_VERSION;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${h(`${m.name} ${m.version} release report`)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${h(m.name)} <span class="version">${h(m.version)}</span></h1>
<p>${configurationBadge} ${signingBadge} ${skippedBadge}</p>
</header>
<main>
${section('metadata', 'Build', buildMetadata(model))}
${section('sizes', 'Size', sizeCharts(model))}
${section('tasks', 'Task graph of this build', taskGraph(model))}
${section('validation', 'Validation and security checks', validation(model.validation))}
${section('diff', changesTitle, changes)}
${section('verify', 'Verify this package', verification(model))}
</main>
</body>
</html>
`;
}

const NO_PREVIOUS_VERSION =
  '<p>No previous version given: run <code>npx nx run release:report --from=&lt;folder, archive or version&gt;</code> ' +
  'to include the release diff.</p>';

/** The badge colours: one class for each status, task outcome and change kind. */
const BADGE_COLOURS =
  '.pass,.ran{background:var(--ok)}.fail,.failed{background:var(--bad)}.waived,.skipped,.note{background:var(--warn)}' +
  '.cache{background:var(--cache)}.notrun,.unknown{background:var(--muted)}';

const CSS = `
:root{--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--muted:#57606a;--line:#d0d7de;--bg:#f6f8fa;--cache:#0969da}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#fff}
header,main{max-width:1100px;margin:0 auto;padding:0 16px}
header{padding-top:16px}
h1{margin:0 0 4px;font-size:1.6rem}
h2{font-size:1.2rem;border-bottom:1px solid var(--line);padding-bottom:4px;margin-top:28px}
h3{font-size:1rem;margin:16px 0 4px}
.version{color:var(--muted)}
code,pre{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:break-word}
pre{background:var(--bg);padding:10px;border-radius:6px;white-space:pre-wrap}
.badge{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;white-space:nowrap}
${BADGE_COLOURS}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:break-word}
th{background:var(--bg);white-space:nowrap}
td.num{text-align:right;white-space:nowrap}
svg{display:block;width:100%;height:auto}
svg text{font:12px system-ui,sans-serif;fill:#1f2328}
figure{margin:0}figcaption{font-weight:600;margin-bottom:4px}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:24px}
ul.changes{padding-left:20px;margin:4px 0}
ul.changes ul{color:var(--muted)}
@media (max-width:700px){.charts{grid-template-columns:1fr}dl{grid-template-columns:1fr}dd{margin-bottom:6px}body{font-size:14px}}
`;

function section(id: string, title: string, body: string): string {
  return `<section id="${id}">\n<h2>${h(title)}</h2>\n${body}\n</section>`;
}

function badge(kind: string, text: string): string {
  return `<span class="badge ${kind.replace(/\s+/g, '')}">${h(text)}</span>`;
}

function buildMetadata(model: ReportModel): string {
  const m = model.manifest;
  const rows: Array<[string, string]> = [
    ['package', model.packageName],
    ['version', m.version],
    ['build date', m.build_date],
    ['git commit', `${m.git_commit}${m.git_dirty ? ' (uncommitted changes)' : ''}`],
    ['git branch', m.git_branch],
    ['built by', m.build_user],
    ['configuration', m.configuration],
    ['signing key', `${m.signing.fingerprint} (${m.signing.mode})`],
    [
      'tools',
      Object.entries(m.tools)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
    ['files', `${m.files.length} files, ${formatBytes(m.files.reduce((n, f) => n + f.size, 0))}`],
    ...model.archives.map((a): [string, string] => [a.name, formatBytes(a.size)]),
  ];
  const skipped = m.skipped.length
    ? `<h3>Skipped</h3>\n<ul>${m.skipped.map((s) => `<li><code>${h(s.artifact)}</code>: ${h(s.reason)}</li>`).join('')}</ul>`
    : '';
  return `<dl>${rows.map(([k, v]) => `<dt>${h(k)}</dt><dd>${h(v)}</dd>`).join('')}</dl>${skipped}`;
}

const LARGEST_FILES = 10;

function sizeCharts(model: ReportModel): string {
  const bySection = model.manifest.sections.map((s) => ({ label: s.name, value: s.bytes, detail: `${s.files} files` }));
  const largest = [...model.manifest.files]
    .sort((a, b) => b.size - a.size || compareBytes(a.path, b.path))
    .slice(0, LARGEST_FILES)
    .map((f) => ({ label: f.path, value: f.size, detail: '' }));
  return `<div class="charts">
<figure><figcaption>By section</figcaption>${barChart(bySection)}</figure>
<figure><figcaption>Largest files</figcaption>${barChart(largest)}</figure>
</div>`;
}

/** A horizontal bar chart as inline SVG, scaled to its container by its viewBox. */
function barChart(bars: Array<{ label: string; value: number; detail: string }>): string {
  const width = 420;
  const row = 22;
  const labelWidth = 165;
  const valueWidth = 80;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const height = bars.length * row + 4;
  const items = bars.map((b, i) => {
    const y = i * row + 2;
    const w = Math.max(1, Math.round(((width - labelWidth - valueWidth - 8) * b.value) / max));
    const tip = `${b.label}: ${formatBytes(b.value)}${b.detail ? `, ${b.detail}` : ''}`;
    return (
      `<g><title>${h(tip)}</title>` +
      `<text x="${labelWidth - 6}" y="${y + 15}" text-anchor="end">${h(shorten(b.label, 24))}</text>` +
      `<rect x="${labelWidth}" y="${y + 3}" width="${w}" height="${row - 6}" rx="2" fill="#0969da"/>` +
      `<text x="${labelWidth + w + 4}" y="${y + 15}">${h(formatBytes(b.value))}</text></g>`
    );
  });
  return `<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="bar chart">${items.join('')}</svg>`;
}

/** Keeps the end of a long path, which is the part that tells files apart. */
function shorten(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(text.length - max + 1)}`;
}

const OUTCOME_COLOUR: Record<TaskOutcome, string> = {
  ran: '#1a7f37',
  cache: '#0969da',
  failed: '#cf222e',
  'not run': '#57606a',
  'no timing recorded': '#8c959f',
};

function taskGraph(model: ReportModel): string {
  if (!model.tasks) return '<p>release:assemble recorded no task graph: run <code>npx nx run release:assemble</code> first.</p>';
  const tasks = model.tasks;
  const note = model.profile
    ? `<p>Outcomes and durations from the Nx profile <code>${h(model.profile)}</code>.</p>`
    : '<p>No Nx profile of the build was found, so outcomes and durations are unknown: ' +
      'build with <code>NX_PROFILE=dist/release/nx-profile.json npx nx run release:assemble</code>.</p>';
  const legend = (Object.keys(OUTCOME_COLOUR) as TaskOutcome[]).map((o) => badge(o === 'no timing recorded' ? 'unknown' : o, o)).join(' ');
  const rows = tasks.map((t) => {
    const outcome = badge(t.outcome === 'no timing recorded' ? 'unknown' : t.outcome, t.outcome);
    const duration = t.durationMs === undefined ? '' : h(formatDuration(t.durationMs));
    const dependsOn = t.dependsOn.map((d) => `<code>${h(d)}</code>`).join(', ');
    return `<tr><td><code>${h(t.id)}</code></td><td>${outcome}</td><td class="num">${duration}</td><td>${dependsOn}</td></tr>`;
  });
  const head = '<thead><tr><th>Task</th><th>Outcome</th><th>Duration</th><th>Depends on</th></tr></thead>';
  return `${note}<p>${legend}</p>
<div class="scroll">${graphSvg(tasks)}</div>
<div class="scroll"><table>${head}<tbody>${rows.join('')}</tbody></table></div>`;
}

/** Tasks in columns by depth (longest chain of dependencies below them), edges from each dependency. */
function graphSvg(tasks: TaskRun[]): string {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const depth = new Map<string, number>();
  const depthOf = (id: string, seen: Set<string> = new Set()): number => {
    if (depth.has(id)) return depth.get(id)!;
    if (seen.has(id)) return 0;
    seen.add(id);
    const deps = byId.get(id)?.dependsOn.filter((d) => byId.has(d)) ?? [];
    const d = deps.length ? 1 + Math.max(...deps.map((x) => depthOf(x, seen))) : 0;
    depth.set(id, d);
    return d;
  };
  const columns: TaskRun[][] = [];
  for (const t of tasks) (columns[depthOf(t.id)] ??= []).push(t);
  const [boxW, boxH, gapX, gapY] = [220, 34, 50, 10];
  const pos = new Map<string, { x: number; y: number }>();
  columns.forEach((col, c) => col.forEach((t, r) => pos.set(t.id, { x: c * (boxW + gapX) + 4, y: r * (boxH + gapY) + 4 })));
  const width = columns.length * (boxW + gapX) - gapX + 8;
  const height = Math.max(...columns.map((col) => col.length)) * (boxH + gapY) - gapY + 8;
  const edges = tasks.flatMap((t) =>
    t.dependsOn
      .filter((d) => pos.has(d))
      .map((d) => {
        const [a, b] = [pos.get(d)!, pos.get(t.id)!];
        return `<line x1="${a.x + boxW}" y1="${a.y + boxH / 2}" x2="${b.x}" y2="${b.y + boxH / 2}" stroke="#8c959f"/>`;
      }),
  );
  const nodes = tasks.map((t) => {
    const { x, y } = pos.get(t.id)!;
    const time = t.durationMs === undefined ? t.outcome : `${t.outcome}, ${formatDuration(t.durationMs)}`;
    const colour = OUTCOME_COLOUR[t.outcome];
    return (
      `<g><title>${h(`${t.id}: ${time}`)}</title>` +
      `<rect x="${x}" y="${y}" width="${boxW}" height="${boxH}" rx="4" fill="#fff" stroke="${colour}" stroke-width="2"/>` +
      `<rect x="${x}" y="${y}" width="6" height="${boxH}" fill="${colour}"/>` +
      `<text x="${x + 12}" y="${y + 14}">${h(shorten(t.id, 32))}</text>` +
      `<text x="${x + 12}" y="${y + 28}" style="fill:#57606a">${h(time)}</text></g>`
    );
  });
  // A wide graph keeps its labels readable (at least 80% scale) and scrolls inside its box.
  return (
    `<svg viewBox="0 0 ${width} ${height}" style="min-width:${Math.round(width * 0.8)}px" role="img" aria-label="task graph">` +
    `${edges.join('')}${nodes.join('')}</svg>`
  );
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function validation(results: SectionValidation[]): string {
  if (!results.length)
    return '<p>No validation reports in dist/validation: run <code>npx nx run-many -t validate</code> before the report.</p>';
  const rows = results.map((r) => {
    const findings = r.findings.length
      ? `<ul class="changes">${r.findings.map((f) => `<li>${badge(f.status, f.status)} <code>${h(f.evidence)}</code></li>`).join('')}</ul>`
      : '';
    const checks = r.checks.map((c) => `${badge('pass', 'ran')} ${h(c)}`).join('<br>');
    return (
      `<tr><td>${h(r.section)}</td><td>${h(`${r.gate} (${r.mode})`)}</td><td>${badge(r.status, r.status)}</td>` +
      `<td>${checks}${findings}</td></tr>`
    );
  });
  const head = '<thead><tr><th>Section</th><th>Run</th><th>Result</th><th>Checks and evidence</th></tr></thead>';
  return `<div class="scroll"><table>${head}<tbody>${rows.join('')}</tbody></table></div>`;
}

function diff(d: ReleaseDiff): string {
  const intro =
    `<p>From <code>${h(d.from.source)}</code> (${h(d.from.version)}, commit <code>${h(d.from.git_commit)}</code>) ` +
    `to ${h(d.to.version)}: ${changeCount(d)} changes.</p>`;
  return (
    intro +
    d.sections
      .map((s) => {
        if (!s.changes.length) return `<h3>${h(s.title)}</h3><p>No changes.</p>`;
        const scopes = [...new Set(s.changes.map((c) => c.scope))];
        const lists = scopes.map((scope) => {
          const items = s.changes
            .filter((c) => c.scope === scope)
            .map((c) => {
              const details = c.details?.length ? `<ul>${c.details.map((x) => `<li><code>${h(x)}</code></li>`).join('')}</ul>` : '';
              const kind = c.change === 'added' ? 'pass' : c.change === 'removed' ? 'fail' : 'note';
              return `<li>${badge(kind, c.change)} <code>${h(c.subject)}</code>${details}</li>`;
            });
          return `<p><strong>${h(scope)}</strong></p><ul class="changes">${items.join('')}</ul>`;
        });
        return `<h3>${h(s.title)}</h3>${lists.join('')}`;
      })
      .join('\n')
  );
}

function verification(model: ReportModel): string {
  const tarGz = model.archives.find((a) => a.name.endsWith('.tar.gz'))?.name ?? `${model.packageName}.tar.gz`;
  const commands = [
    `tar -xzf ${tarGz} && cd ${model.packageName}`,
    'sha256sum -c SHA256SUMS',
    `gpg --import ../${model.publicKey}`,
    'gpg --verify SHA256SUMS.asc SHA256SUMS',
  ];
  return (
    `<p>A recipient checks the archive's checksums and signature:</p><pre>${h(commands.join('\n'))}</pre>\n` +
    '<p>In the release workspace, one command checks the layout, every checksum, the signature, MANIFEST.json and both archives:</p>' +
    '<pre>npx nx run release:verify</pre>'
  );
}
