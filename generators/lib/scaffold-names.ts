import { ReleaseError } from '@spacetime/release-kit/src/support/errors';

const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Checks a Kubernetes DNS-1123 label (RFC 1123): lower-case letters, digits and '-', starting
 * and ending with a letter or digit, at most 63 characters. Environment names, section names
 * and namespaces all are one.
 */
export function assertDnsLabel(value: string, what: string): string {
  if (typeof value !== 'string' || value === '') throw new ReleaseError(`${what} is missing`);
  if (value.length > 63) throw new ReleaseError(`${what} "${value}" is longer than 63 characters (a DNS-1123 label)`);
  if (!DNS_1123_LABEL.test(value)) {
    throw new ReleaseError(`${what} "${printable(value)}" is not a DNS-1123 label`, {
      hint: 'use lower-case letters, digits and "-", starting and ending with a letter or digit (e.g. "qa", "load-test")',
    });
  }
  return value;
}

/** The name as a word in prose: "QA" for short names, "Load-test" otherwise. */
export function displayName(name: string): string {
  return name.length <= 3 ? name.toUpperCase() : name[0].toUpperCase() + name.slice(1);
}

function printable(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}
