// selective_scan.h — the Mamba S6 selective scan, forward and backward (CPU + CUDA).
//
// Glossary (mamba-ssm names; paper symbols in brackets):
//   B  batch            D  channels (d_inner, "ED")      L  time steps        N  state size (d_state)
//   G  groups of B/C (channel d uses group d / (D / G))   K  save interval (kSaveEvery steps)
//   u      (B, D, L)     input x_t
//   delta  (B, D, L)     step size before bias/softplus [Δ]
//   A      (D, N) f32    state matrix (diagonal, real) [A]
//   Bm, Cm (B, G, N, L)  input / output projections [B_t, C_t]  (a (B, N, L) tensor is G = 1)
//   Dskip  (D) f32       skip connection [D]
//   z      (B, D, L)     gate: out = y * silu(z)
//   delta_bias (D) f32   added before softplus
//   h      (B, D, N) f32 state; init = h before step 0, last = h after the last valid step
//   lengths (B) int32    valid steps per batch item (right padding); steps t >= len give 0
//
// Math, in float32:  dt = softplus(delta + bias) (or delta + bias)
//                    h_t = exp(dt_t A) h_{t-1} + dt_t B_t u_t           (B, D, N) per step
//                    y_t = C_t . h_t + D u_t ; out_t = y_t silu(z_t)    (B, D) per step
// With `reverse` the recurrence runs from t = len-1 down to 0 (h_{t+1} plays h_{t-1}).
//
// Saved states: the CUDA forward (when asked, for autograd) writes h at the start of every chunk
// of kSaveEvery processed steps, (B, D, n_chunks, N) f32 — 1/64 of the (B, D, L, N) states it never
// stores; the backward recomputes within each chunk from there. The CPU backward recomputes
// everything from the inputs (it needs no saved states).
#pragma once
#include <memory>
#include <vector>

#include "../../core/tensor.h"

namespace ms {

constexpr int64_t kScanSaveEvery = 64;  // steps between saved states (a multiple of every tile)
constexpr int64_t kScanMaxState = 256;  // largest N

// Inputs of one call; optional tensors are nullptr. Views are made contiguous by check_scan.
struct ScanInputs {
  Tensor u, delta, A, Bm, Cm;
  Tensor Dskip, z, delta_bias, init, lengths;  // numel() == 0 / empty storage when absent
  bool has_D = false, has_z = false, has_bias = false, has_init = false, has_lengths = false;
  bool softplus = false, reverse = false;
};

// Sizes and flags shared by the kernels (the only interface between the op and its kernels).
struct ScanDims {
  int64_t batch, dim, len, nstate, ngroups;
  int64_t n_chunks;  // ceil(L_padded / kScanSaveEvery): saved state slots per row
};

struct ScanForward {
  Tensor out;    // (B, D, L) in the input dtype
  Tensor last;   // (B, D, N) f32 when asked
  Tensor saved;  // (B, D, n_chunks, N) f32 when asked (CUDA only)
  bool has_last = false, has_saved = false;
};

struct ScanGrads {
  Tensor du, ddelta, dA, dB, dC, dD, dz, dbias, dinit;  // only those with an input are set
};

// Argument checks (shapes, dtypes, devices, lengths) and contiguity; throws "[selectiveScan] ...".
ScanInputs check_scan(const char* op, ScanInputs in, const std::shared_ptr<Accounting>& acct, ScanDims* dims);

ScanForward selective_scan_fwd(const ScanInputs& in, bool return_last, bool save,
                               const std::shared_ptr<Accounting>& acct);
// dout (B, D, L) and dlast (B, D, N) may be absent (numel 0): treated as zeros. `saved` comes from
// the forward with save = true (CUDA); without it the CUDA path re-runs the forward first.
ScanGrads selective_scan_bwd(const ScanInputs& in, const Tensor& saved, bool has_saved, const Tensor& dout,
                             bool has_dout, const Tensor& dlast, bool has_dlast, bool deterministic,
                             const std::shared_ptr<Accounting>& acct);

// Device kernels (selective_scan_cpu.cpp / selective_scan_cuda.cu). Inputs contiguous and checked.
void selective_scan_fwd_cpu(const ScanInputs& in, const ScanDims& dm, ScanForward& f);
void selective_scan_bwd_cpu(const ScanInputs& in, const ScanDims& dm, const Tensor* dout, const Tensor* dlast,
                            ScanGrads& g, const std::shared_ptr<Accounting>& acct);
void selective_scan_fwd_cuda(const ScanInputs& in, const ScanDims& dm, ScanForward& f);
void selective_scan_bwd_cuda(const ScanInputs& in, const ScanDims& dm, const Tensor& saved, const Tensor* dout,
                             const Tensor* dlast, bool deterministic, ScanGrads& g,
                             const std::shared_ptr<Accounting>& acct);

}  // namespace ms
