import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ValidationContext } from './findings';

/** A certificate that expires within this many days fails. */
export const EXPIRY_DAYS = 30;
const CERT_FILE = /\.(?:crt|pem|cer|der)$/i;

/** Every certificate under certificates/ parses, and none expires within 30 days. */
export function checkCertificates(ctx: ValidationContext): void {
  ctx.checks.add('certificates');
  for (const { path } of ctx.files.filter((f) => /(^|\/)certificates\//.test(f.path) && CERT_FILE.test(f.path))) {
    const data = readFileSync(ctx.abs(path));
    const text = data.toString('latin1');
    const blocks = [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => ({ pem: m[0], line: text.slice(0, m.index).split('\n').length }));
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
      const expires = new Date(cert.validTo);
      const days = Math.floor((expires.getTime() - ctx.now.getTime()) / 86_400_000);
      if (days < EXPIRY_DAYS) {
        ctx.add('certificates/expiry', path, block.line, `${cert.subject.replace(/\n/g, ', ')} ${days < 0 ? 'has expired' : `expires within ${EXPIRY_DAYS} days`} (${cert.validTo})`);
      }
    }
  }
}
