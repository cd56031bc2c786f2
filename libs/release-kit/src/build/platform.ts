import { closeSync, openSync, readSync } from 'node:fs';
import { ReleaseError } from '../support/errors';

/**
 * A container platform as OCI writes it (`os`/`architecture`[/`variant`]), its names in the other
 * tools that meet it (Node's process.arch, Godot's binary_format/architecture, the ELF header),
 * and the one table they are read from.
 */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

interface ArchitectureNames {
  architecture: string;
  variant?: string;
  node: string;
  godot: string;
  /** ELF e_machine. */
  elf: number;
  /** The qemu-user emulator that runs it on another machine. */
  qemu: string;
}

const ARCHITECTURES: ArchitectureNames[] = [
  { architecture: 'amd64', node: 'x64', godot: 'x86_64', elf: 0x3e, qemu: 'qemu-x86_64-static' },
  { architecture: 'arm64', node: 'arm64', godot: 'arm64', elf: 0xb7, qemu: 'qemu-aarch64-static' },
  { architecture: 'arm', variant: 'v7', node: 'arm', godot: 'arm32', elf: 0x28, qemu: 'qemu-arm-static' },
  { architecture: '386', node: 'ia32', godot: 'x86_32', elf: 0x03, qemu: 'qemu-i386-static' },
];

/** `linux/arm64`, `linux/arm/v7`. */
export function platformName(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Reads `linux/amd64` or `linux/arm/v7`; `where` names the setting for the error. */
export function parsePlatform(text: string, where: string): Platform {
  const [os, architecture, variant, ...rest] = text.split('/');
  const known = ARCHITECTURES.find((a) => a.architecture === architecture);
  if (os !== 'linux' || !known || rest.length || (variant !== undefined && variant === ''))
    throw new ReleaseError(
      `"${text}" is not a platform this build makes: ${ARCHITECTURES.map((a) => `linux/${a.architecture}`).join(', ')}`,
      {
        file: where,
      },
    );
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** Whether an image of platform `offered` (from a base image's index) serves `wanted`: arm64's variant v8 is its only one. */
export function platformMatches(wanted: Platform, offered: Platform): boolean {
  if (wanted.os !== offered.os || wanted.architecture !== offered.architecture) return false;
  const normal = (p: Platform) =>
    p.variant ?? (p.architecture === 'arm64' ? 'v8' : ARCHITECTURES.find((a) => a.architecture === p.architecture)?.variant);
  return normal(wanted) === normal(offered);
}

/** The machine this process runs on. */
export function hostPlatform(): Platform {
  const known = ARCHITECTURES.find((a) => a.node === process.arch);
  return { os: 'linux', architecture: known?.architecture ?? process.arch };
}

/** The platform of a Godot preset: its OS and `binary_format/architecture`; undefined for a platform no container runs. */
export function godotPresetPlatform(platform: string, options: Record<string, string>): Platform | undefined {
  if (!/^Linux/.test(platform)) return undefined;
  const godot = options['binary_format/architecture'] || (options['binary_format/64_bits'] === 'false' ? 'x86_32' : 'x86_64');
  const known = ARCHITECTURES.find((a) => a.godot === godot);
  return known && { os: 'linux', architecture: known.architecture, ...(known.variant ? { variant: known.variant } : {}) };
}

/**
 * How to start an executable of another machine here: the qemu-user emulator for an ELF file built
 * for another architecture (binfmt is not assumed), nothing for one of this machine or a script.
 */
export function emulatorFor(file: string): { machine: string; qemu: string } | undefined {
  const header = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    if (readSync(fd, header, 0, header.length, 0) < header.length) return undefined;
  } finally {
    closeSync(fd);
  }
  if (header.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const machine = header[5] === 2 ? header.readUInt16BE(18) : header.readUInt16LE(18);
  const found = ARCHITECTURES.find((a) => a.elf === machine);
  if (!found || found.architecture === hostPlatform().architecture) return undefined;
  return { machine: found.architecture, qemu: found.qemu };
}
