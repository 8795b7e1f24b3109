/**
 * device.ts — build information and the default device.
 *
 * Default device: MAMBA_SPEECH_DEVICE when set; otherwise 'cuda' when the addon was built with
 * CUDA and a GPU answers, else 'cpu'. setDefaultDevice() overrides both for this JS environment.
 */
import * as fs from 'fs';
import * as path from 'path';

import { AddonSource, addonSource, native, NativeBuildInfo, packageRoot } from '../native';
import { Device, isDevice } from './types';

/** What the addon was built with and what it found at run time. */
export interface BuildInfo extends NativeBuildInfo {
  /** Package version. */
  version: string;
  /** The device creation functions use when none is given. */
  defaultDevice: Device;
  /** The addon in use: its path, and whether it is the prebuilt CPU binary (no CUDA) or a build from source. */
  addon: AddonSource;
}

// How to get CUDA when the addon has none: the prebuilt binary is CPU-only by design.
const NO_CUDA = 'this addon has no CUDA support (the prebuilt CPU binary, or built without nvcc or with MAMBA_SPEECH_CUDA=0); ' +
  'build it from source with CUDA: npx mamba-speech-build (MAMBA_SPEECH_CUDA=1 where no GPU is visible)';

let cachedNative: NativeBuildInfo | null = null;
let defaultDevice: Device | null = null;

function nativeInfo(): NativeBuildInfo {
  if (cachedNative === null) cachedNative = native.buildInfo();
  return cachedNative;
}

function packageVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')).version as string;
  } catch {
    return 'unknown';
  }
}

/** True when tensors can be placed on 'cuda' (built with CUDA and a GPU is present). */
export function cudaAvailable(): boolean {
  const i = nativeInfo();
  return i.cuda && i.gpus.length > 0;
}

function checkDevice(op: string, d: unknown): Device {
  if (!isDevice(d)) throw new Error(`[${op}] unknown device '${String(d)}'; expected 'cpu' or 'cuda'`);
  if (d === 'cuda' && !cudaAvailable()) {
    const i = nativeInfo();
    const why = i.cuda ? i.cudaStatus : NO_CUDA;
    throw new Error(`[${op}] device 'cuda' is not available: ${why}; check buildInfo()`);
  }
  return d;
}

/** The device used when an op or creation function is given none. */
export function getDefaultDevice(): Device {
  if (defaultDevice === null) {
    const env = process.env.MAMBA_SPEECH_DEVICE;
    if (env !== undefined && env !== '') defaultDevice = checkDevice('MAMBA_SPEECH_DEVICE', env);
    else defaultDevice = cudaAvailable() ? 'cuda' : 'cpu';
  }
  return defaultDevice;
}

/** Sets the default device for this JS environment; throws if 'cuda' is not available. */
export function setDefaultDevice(device: Device): void {
  defaultDevice = checkDevice('setDefaultDevice', device);
}

/** @internal Resolves an optional device argument (validating it) to a device. */
export function resolveDevice(op: string, device: Device | undefined): Device {
  return device === undefined ? getDefaultDevice() : checkDevice(op, device);
}

/**
 * Build and run-time facts: `{ version, napiVersion, cuda, cublas, gpus: [{ name, memoryBytes,
 * cc, smCount }], defaultDevice, cudaStatus, cudaRuntimeVersion, threads, addon: { path, prebuilt } }`.
 * `cuda` says the addon was built with CUDA; `gpus` lists the GPUs it can use now (empty without
 * a driver, with the reason in `cudaStatus`); `addon.prebuilt` says the shipped CPU binary is in
 * use (no local build).
 */
export function buildInfo(): BuildInfo {
  const i = nativeInfo();
  return {
    ...i, gpus: i.gpus.map((g) => ({ ...g })), version: packageVersion(), defaultDevice: getDefaultDevice(), addon: { ...addonSource },
    cudaStatus: i.cuda ? i.cudaStatus : `${i.cudaStatus}${addonSource.prebuilt ? ' (the prebuilt CPU binary; npx mamba-speech-build builds with CUDA)' : ''}`,
  };
}

/** Waits for all queued GPU work (no-op without a GPU). */
export function synchronize(): void {
  native.synchronize();
}

/** Sets the number of CPU threads the native ops use (default: one per core). */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
