import { Change, Differ, formatBytes, keyedChanges } from '../change';
import { ReleasePackage } from '../package-reader';

/** What binaries:image records in MANIFEST.json (sections[binaries].metadata.image), null when skipped. */
interface ImageMetadata {
  id: string;
  size: number;
  tags: string[];
  tarball: string;
}

const SERVER_BINARY = 'binaries/spacetime-server';

function imageOf(pkg: ReleasePackage): ImageMetadata | undefined {
  const binaries = pkg.manifest.sections?.find((s) => s.name === 'binaries');
  return (binaries?.metadata?.image as ImageMetadata | null | undefined) ?? undefined;
}

/** The server image's ID and tags. */
export const imageDiffer: Differ = {
  id: 'image',
  title: 'Server image',
  diff: (before, after) => {
    const [b, a] = [imageOf(before), imageOf(after)];
    const id = (i: ImageMetadata | undefined) => i?.id ?? 'not built';
    return [
      ...(id(b) !== id(a) ? [{ change: 'changed' as const, scope: 'image', subject: 'image ID', details: [`${id(b)} → ${id(a)}`] }] : []),
      ...keyedChanges('image tags', tags(b), tags(a)),
    ];
  },
};

function tags(image: ImageMetadata | undefined): Map<string, true> {
  return new Map((image?.tags ?? []).map((t) => [t, true]));
}

/** Sizes a reviewer watches: the server binary, the image, and its saved archive. */
const SIZES: Array<{ subject: string; of: (pkg: ReleasePackage) => number | undefined }> = [
  { subject: 'server binary', of: (pkg) => pkg.files.get(SERVER_BINARY)?.size },
  { subject: 'image (uncompressed)', of: (pkg) => imageOf(pkg)?.size },
  {
    subject: 'image archive',
    of: (pkg) => {
      const t = imageOf(pkg)?.tarball;
      return t ? pkg.files.get(`binaries/${t}`)?.size : undefined;
    },
  },
];

export const sizesDiffer: Differ = {
  id: 'sizes',
  title: 'Sizes of the binary and the image',
  diff: (before, after) =>
    SIZES.flatMap(({ subject, of }): Change[] => {
      const [b, a] = [of(before), of(after)];
      if (b === a) return [];
      const show = (n: number | undefined) => (n === undefined ? 'not built' : formatBytes(n));
      const delta = b !== undefined && a !== undefined ? ` (${a > b ? '+' : '−'}${formatBytes(Math.abs(a - b))})` : '';
      return [{ change: 'changed', scope: 'sizes', subject, details: [`${show(b)} → ${show(a)}${delta}`] }];
    }),
};
