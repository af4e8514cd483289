// The machine a benchmark ran on, recorded with every result: numbers without it mean little.

import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  platform: string;
  kernel: string;
  /** 1, 5 and 15 minute load averages when the info was taken: a benchmark on a machine whose
   * load exceeds its core count measured the neighbours as much as itself. */
  loadAverage: number[];
  /** ISO timestamp of when the info was taken. */
  date: string;
}

export function machineInfo(): MachineInfo {
  return {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel: cpuModel(),
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    kernel: os.release(),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    date: new Date().toISOString(),
  };
}

/** "model name" from /proc/cpuinfo (what the brief asks for); os.cpus() as a fallback elsewhere. */
function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model.trim() ?? 'unknown';
}

/** One line for a table caption or a README: "2 x AMD EPYC, 24.0 GiB, Node v20.20.2, linux-x64". */
export function describeMachine(m: MachineInfo): string {
  const gib = (m.memoryBytes / 2 ** 30).toFixed(1);
  return `${m.nproc} x ${m.cpuModel}, ${gib} GiB, Node ${m.node}, ${m.platform} (kernel ${m.kernel})`;
}
