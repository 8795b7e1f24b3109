/** memory.ts — live tensors and native bytes of this JS environment. */
import { native } from '../native';

/** Memory report: live tensors, bytes they hold per device, and the CUDA allocator's cache. */
export interface MemoryInfo {
  /** Tensors created and not yet disposed or collected. */
  tensors: number;
  /** Native bytes held by live tensors, per device. */
  bytes: { cpu: number; cuda: number };
  /** Bytes of freed CUDA blocks the caching allocator keeps for reuse (whole process). */
  cudaCached: number;
  /** cudaMalloc'd bytes in all: live + cached (whole process). */
  cudaReserved: number;
  /** Allocator calls and how many were served from the cache. */
  cudaAllocCalls: number;
  cudaCacheHits: number;
}

/** Returns `{ tensors, bytes: { cpu, cuda }, cudaCached, ... }` for this JS environment. */
export function memory(): MemoryInfo {
  const m = native.memory();
  return {
    tensors: m.tensors,
    bytes: m.bytes,
    cudaCached: m.cudaCached,
    cudaReserved: m.cudaReserved,
    cudaAllocCalls: m.cudaAllocCalls,
    cudaCacheHits: m.cudaCacheHits,
  };
}

/** Returns the CUDA allocator's cached blocks to the driver (after waiting for queued work). */
export function emptyCache(): void {
  native.emptyCache();
}
