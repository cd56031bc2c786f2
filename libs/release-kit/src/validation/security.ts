import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ValidationContext } from './findings';

/** A certificate that expires within this many days fails. */
export const EXPIRY_DAYS = 30;
const CERT_FILE = /\.(?:crt|pem|cer|der)$/i;
/** The note that records a certificate's expiry date in the report. */
export const CERTIFICATE_NOTE = 'certificates/valid-until';
/** The rule of an open critical or high finding, and of the note that counts them per report. */
export const OPEN_FINDINGS_RULE = 'security/open-findings';
/** Severities that block a release while a finding of that severity is open. */
const BLOCKING_SEVERITIES = ['Critical', 'High'];

/** Every certificate under certificates/ parses, and none expires within 30 days. */
export function checkCertificates(ctx: ValidationContext): void {
  ctx.checks.add('certificates');
  for (const { path } of ctx.files.filter((f) => /(^|\/)certificates\//.test(f.path) && CERT_FILE.test(f.path))) {
    const data = readFileSync(ctx.abs(path));
    const text = data.toString('latin1');
    const blocks = [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => ({
      pem: m[0],
      line: text.slice(0, m.index).split('\n').length,
    }));
    if (!blocks.length) {
      if (/-----BEGIN /.test(text)) continue; // keys and requests: the secret scan and others judge them
      try {
        blocks.push({ pem: new X509Certificate(data).toString(), line: 1 });
      } catch {
        ctx.add('certificates/parse', path, undefined, 'is not a certificate (neither PEM nor DER)');
        continue;
      }
    }
    for (const block of blocks) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(block.pem);
      } catch (e) {
        ctx.add('certificates/parse', path, block.line, `cannot be parsed: ${(e as Error).message}`);
        continue;
      }
      const subject = cert.subject.replace(/\n/g, ', ');
      const expires = new Date(cert.validTo);
      const days = Math.floor((expires.getTime() - ctx.now.getTime()) / 86_400_000);
      if (days < EXPIRY_DAYS) {
        ctx.add(
          'certificates/expiry',
          path,
          block.line,
          `${subject} ${days < 0 ? 'has expired' : `expires within ${EXPIRY_DAYS} days`} (${cert.validTo})`,
        );
      }
      // A cached report keeps the date, so that release:assemble judges expiry again on the day it runs.
      ctx.add(CERTIFICATE_NOTE, path, block.line, `${subject} valid until ${expires.toISOString()}`, 'note');
    }
  }
}

/**
 * The audit, vulnerability and penetration test reports each summarise their findings in a
 * `| Severity | ... | Open | ... |` table: an open critical or high finding fails the release.
 */
export function checkSecurityReports(ctx: ValidationContext): void {
  ctx.checks.add('security reports (open critical and high findings)');
  for (const { path } of ctx.filesUnder(`${ctx.section}/reports`, /\.md$/)) {
    const lines = readFileSync(ctx.abs(path), 'utf8').split('\n');
    const header = lines.findIndex((l) => /^\|\s*Severity\s*\|/.test(l));
    if (header < 0) continue;
    const columns = cells(lines[header]);
    const open = columns.findIndex((c) => c === 'Open');
    if (open < 0) {
      ctx.add('security/report-table', path, header + 1, 'the severity table has no "Open" column');
      continue;
    }
    const counts: string[] = [];
    for (const severity of BLOCKING_SEVERITIES) {
      const row = lines.findIndex((l, i) => i > header && cells(l)[0] === severity);
      const value = row < 0 ? NaN : Number(cells(lines[row])[open]);
      if (!Number.isInteger(value)) {
        ctx.add(
          'security/report-table',
          path,
          row < 0 ? header + 1 : row + 1,
          `the severity table gives no number of open ${severity} findings`,
        );
        continue;
      }
      if (value > 0) ctx.add(OPEN_FINDINGS_RULE, path, row + 1, `${value} ${severity} finding${value === 1 ? ' is' : 's are'} open`);
      counts.push(`${severity} open: ${value} (line ${row + 1})`);
    }
    ctx.add(OPEN_FINDINGS_RULE, path, header + 1, counts.join(', '), 'note');
  }
}

function cells(line: string): string[] {
  return line
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());
}
