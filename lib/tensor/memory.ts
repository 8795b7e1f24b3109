/** memory.ts — live tensors and native bytes of this JS environment. */
import { native } from '../native';

/** Memory report: live tensors, bytes they hold per device, and the allocators' caches. */
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
  /**
   * Bytes of freed CPU blocks (16 KiB and larger) the host caching allocator keeps for reuse,
   * so that a repeated shape meets warm pages instead of page faults (whole process).
   */
  cpuCached: number;
  /** Bytes the host allocator holds for blocks of 16 KiB and more: live + cached (whole process). */
  cpuReserved: number;
  /** Host allocator calls and how many were served from its cache. */
  cpuAllocCalls: number;
  cpuCacheHits: number;
}

/** Returns `{ tensors, bytes: { cpu, cuda }, cudaCached, cpuCached, ... }` for this JS environment. */
export function memory(): MemoryInfo {
  const m = native.memory();
  return {
    tensors: m.tensors,
    bytes: m.bytes,
    cudaCached: m.cudaCached,
    cudaReserved: m.cudaReserved,
    cudaAllocCalls: m.cudaAllocCalls,
    cudaCacheHits: m.cudaCacheHits,
    cpuCached: m.cpuCached,
    cpuReserved: m.cpuReserved,
    cpuAllocCalls: m.cpuAllocCalls,
    cpuCacheHits: m.cpuCacheHits,
  };
}

/**
 * Returns the caching allocators' free blocks to the system: CUDA's to the driver (after
 * waiting for queued work) and the host allocator's CPU blocks. Live tensors are untouched.
 */
export function emptyCache(): void {
  native.emptyCache();
}
