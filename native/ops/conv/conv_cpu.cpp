// conv_cpu.cpp — the CPU convolutions as implicit GEMMs on the project's packed GEMM (see conv.h
// for the geometry and the GEMM view; depthwise convs are in conv_depthwise_cpu.cpp).
//
// The im2col matrix col (Kc, P) of one batch item is never stored: the GEMM's B packer reads its
// rows (channel c, tap ky, kx) straight from x into the micro-kernel's strips, a KC x nb block at
// a time, so each x value is read from cache where im2col + GEMM wrote and re-read a buffer of
// Kc x N x P floats (58 MB for the (8, 144, 149, 39) subsampling conv) and then transposed the
// result from (Cout, N, P) into y. Each op is one parallel region:
//   forward   task (n, group, P tile): y[n, g] (Cg, P tile) = W_g (Cg, Kc) · col_n,g   (W packed once, bias as C's start)
//   dx        task (n, group, channel block): dcol (rows of the block, P tile) = W_g^T · dy[n, g],
//             scatter-added into dx[n, block] (a task owns its channels: no races, fixed order)
//   dw        task (group, row block, column block) of dW_g (Cg, Kc) = sum over n of dy[n, g] · col_n,g^T,
//             items in order, so the result does not depend on the thread count
// A 1x1 conv with stride 1 and no padding (pointwise) multiplies straight into dx.
#include <algorithm>
#include <cstring>
#include <vector>

#include "../../core/thread_pool.h"
#include "../matmul/gemm_cpu.h"
#include "conv.h"

namespace ms {
namespace {

constexpr int64_t kPosTile = 256;  // output positions per dx scatter tile and per dw K slice (= gemm::KC)
constexpr int64_t kNb = 512;       // B block width of the forward GEMM: KC x 512 x 4 B = 512 KB in L2

// Where a run of output positions [p0, p0 + n) reads x: the top-left input row/column of each
// position's window and their flat offset; `interior` when every tap of every position is inside
// x (no padding to test), `contiguous` when consecutive positions read consecutive x (stride 1
// along one row: rows of the im2col matrix are then plain copies).
struct Positions {
  int64_t n = 0;
  int64_t iy[kNb], ix[kNb], off[kNb];
  bool in[kNb];  // every tap of position j is inside x
  bool interior = true, contiguous = true;
  bool inside(int64_t j0, int64_t w) const {
    if (interior) return true;
    for (int64_t j = j0; j < j0 + w; ++j)
      if (!in[j]) return false;
    return true;
  }
};

void positions_of(const ConvGeom& g, int64_t p0, int64_t n, Positions& ps) {
  ps.n = n;
  ps.interior = true;
  ps.contiguous = g.sw == 1;
  int64_t oy = p0 / g.ow, ox = p0 % g.ow;
  const int64_t ylast = (g.kh - 1) * g.dh, xlast = (g.kw - 1) * g.dw;
  for (int64_t j = 0; j < n; ++j) {
    const int64_t iy = oy * g.sh - g.ph, ix = ox * g.sw - g.pw;
    ps.iy[j] = iy;
    ps.ix[j] = ix;
    ps.off[j] = iy * g.iw + ix;
    ps.in[j] = iy >= 0 && iy + ylast < g.ih && ix >= 0 && ix + xlast < g.iw;
    ps.interior = ps.interior && ps.in[j];
    if (j > 0 && ox == 0) ps.contiguous = false;  // a new output row starts inside the run
    if (++ox == g.ow) ox = 0, ++oy;
  }
}

// The im2col row k = (c, ky, kx) of the group's channels: c's plane offset and the tap's shift.
struct Tap {
  int64_t rel, dy, dx;  // rel = c ih iw + dy iw + dx; dy = ky dh, dx = kx dw
};
inline Tap tap_of(const ConvGeom& g, int64_t k) {
  const int64_t kk = g.kh * g.kw, c = k / kk, t = k % kk, dy = (t / g.kw) * g.dh, dx = (t % g.kw) * g.dw;
  return {c * g.ih * g.iw + dy * g.iw + dx, dy, dx};
}
// col value of tap t at position j (x: the group's channels of one item).
inline float col_at(const ConvGeom& g, const float* x, const Positions& ps, const Tap& t, int64_t j) {
  const int64_t iy = ps.iy[j] + t.dy, ix = ps.ix[j] + t.dx;
  return (iy >= 0 && iy < g.ih && ix >= 0 && ix < g.iw) ? x[ps.off[j] + t.rel] : 0.f;
}

// B strips of col (rows k0..k0+kc, columns = positions ps[n0 .. n0 + nc)) for the forward GEMM.
void pack_col(const ConvGeom& g, const float* x, const Positions& ps, int64_t k0, int64_t kc, int64_t n0, int64_t nc,
              int nr, float* dst) {
  for (int64_t s = 0; s < nc; s += nr) {
    const int64_t w = std::min<int64_t>(nr, nc - s), j0 = n0 + s;
    // Interior and contiguous within this strip (a strip at a row change or an edge is rarer).
    const bool inside = ps.inside(j0, w), run = ps.contiguous || (g.sw == 1 && ps.off[j0 + w - 1] - ps.off[j0] == w - 1 &&
                                                             ps.iy[j0 + w - 1] == ps.iy[j0]);
    float* d = dst + s * kc;
    for (int64_t k = 0; k < kc; ++k) {
      const Tap t = tap_of(g, k0 + k);
      float* row = d + k * nr;
      if (inside && run) {
        std::memcpy(row, x + ps.off[j0] + t.rel, static_cast<size_t>(w) * 4);
      } else if (inside) {
        const float* xr = x + t.rel;
        for (int64_t j = 0; j < w; ++j) row[j] = xr[ps.off[j0 + j]];
      } else {
        for (int64_t j = 0; j < w; ++j) row[j] = col_at(g, x, ps, t, j0 + j);
      }
      for (int64_t j = w; j < nr; ++j) row[j] = 0.f;
    }
  }
}

// B strips of col^T (rows = positions ps[0 .. kc), columns k = k0 .. k0 + nc of Kc) for dW.
void pack_col_t(const ConvGeom& g, const float* x, const Positions& ps, int64_t kc, int64_t k0, int64_t nc, int nr,
                float* dst) {
  for (int64_t s = 0; s < nc; s += nr) {
    const int64_t w = std::min<int64_t>(nr, nc - s);
    float* d = dst + s * kc;
    for (int64_t jj = 0; jj < w; ++jj) {
      const Tap t = tap_of(g, k0 + s + jj);
      if (ps.interior) {
        const float* xr = x + t.rel;
        if (ps.contiguous) {
          for (int64_t p = 0; p < kc; ++p) d[p * nr + jj] = xr[ps.off[0] + p];
        } else {
          for (int64_t p = 0; p < kc; ++p) d[p * nr + jj] = xr[ps.off[p]];
        }
      } else {
        for (int64_t p = 0; p < kc; ++p) d[p * nr + jj] = col_at(g, x, ps, t, p);
      }
    }
    for (int64_t p = 0; p < kc; ++p)
      for (int64_t jj = w; jj < nr; ++jj) d[p * nr + jj] = 0.f;
  }
}

// dx (the group's channels [c0, c0 + rows / kk) of one item) += dcol (rows, ps.n) at the positions.
void scatter_col(const ConvGeom& g, const float* dcol, int64_t rows, int64_t c0, const Positions& ps, float* dx) {
  const int64_t n = ps.n;
  for (int64_t r = 0; r < rows; ++r) {
    Tap t = tap_of(g, r);
    t.rel += c0 * g.ih * g.iw;
    const float* src = dcol + r * n;
    if (ps.interior && ps.contiguous) {
      float* d = dx + ps.off[0] + t.rel;
      for (int64_t j = 0; j < n; ++j) d[j] += src[j];
    } else if (ps.interior) {
      float* d = dx + t.rel;
      for (int64_t j = 0; j < n; ++j) d[ps.off[j]] += src[j];
    } else {
      for (int64_t j = 0; j < n; ++j) {
        const int64_t iy = ps.iy[j] + t.dy, ix = ps.ix[j] + t.dx;
        if (iy >= 0 && iy < g.ih && ix >= 0 && ix < g.iw) dx[ps.off[j] + t.rel] += src[j];
      }
    }
  }
}

// About three tasks per thread (the pool hands out chunks dynamically).
int64_t want_tasks() { return 3 * static_cast<int64_t>(num_threads()); }

}  // namespace

void conv_forward_cpu(const ConvGeom& g, const Tensor& x, const Tensor& w, const float* bias, Tensor& y) {
  const int64_t P = g.P(), Kc = g.Kc(), Cg = g.Cout / g.G, cin_g = g.Cin / g.G, plane = g.ih * g.iw;
  const int nr = micro_kernel().nr;
  // W packed once for every task: (G, Cg, Kc) -> G blocks of strips.
  const size_t per_group = gemm::packed_a_size(Cg, Kc);
  float* wpack = thread_buffer(2, per_group * static_cast<size_t>(g.G));
  std::vector<gemm::PackedA> packed(static_cast<size_t>(g.G));
  for (int64_t grp = 0; grp < g.G; ++grp)
    packed[grp] = gemm::pack_a_all(w.ptr<float>() + grp * Cg * Kc, Kc, 1, Cg, Kc, wpack + grp * per_group);
  // Tiles of positions so that small batches still give every thread work.
  const int64_t split = std::max<int64_t>(1, (want_tasks() + g.N * g.G - 1) / (g.N * g.G));
  const int64_t tile = gemm::round_up((P + split - 1) / split, nr), tiles = (P + tile - 1) / tile;
  const float* px = x.ptr<float>();
  float* py = y.ptr<float>();
  parallel_for(g.N * g.G * tiles, 1, [&](int64_t t0, int64_t t1) {
    Positions ps;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = t / (g.G * tiles), grp = (t / tiles) % g.G, p0 = (t % tiles) * tile;
      const int64_t np = std::min(tile, P - p0);
      const float* xg = px + (n * g.Cin + grp * cin_g) * plane;
      const gemm::PackedA& A = packed[grp];
      int64_t have = -1;  // first position of the table in ps
      gemm::gemm_serial(
          Cg, np, Kc, [&](int64_t m0, int64_t, int64_t k0, int64_t, float*) { return A.at(m0, k0); },
          [&](int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* dst) {
            if (have != p0 + n0) positions_of(g, p0 + n0, nc, ps), have = p0 + n0;
            pack_col(g, xg, ps, k0, kc, 0, nc, nr, dst);
            return static_cast<const float*>(dst);
          },
          py + (n * g.Cout + grp * Cg) * P + p0, P, false, bias ? bias + grp * Cg : nullptr, kNb);
    }
  });
}

void conv_backward_input_cpu(const ConvGeom& g, const Tensor& dy, const Tensor& w, const float* bias, Tensor& dx) {
  const int64_t P = g.P(), Kc = g.Kc(), Cg = g.Cout / g.G, cin_g = g.Cin / g.G, plane = g.ih * g.iw;
  const int64_t kk = g.kh * g.kw;
  const int nr = micro_kernel().nr;
  // A 1x1 conv that reads every input once, in order: dcol is dx itself.
  const bool pointwise = kk == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 && P == plane;
  // Channel blocks of at most ~288 dcol rows (two A blocks: the dcol tile, rows x 256, stays in
  // L2), and enough of them to give every thread work.
  const int64_t split = std::max<int64_t>(1, (want_tasks() + g.N * g.G - 1) / (g.N * g.G));
  const int64_t cb = std::max<int64_t>(1, std::min((cin_g + split - 1) / split, std::max<int64_t>(1, 288 / kk)));
  const int64_t blocks = (cin_g + cb - 1) / cb;
  const float *pdy = dy.ptr<float>(), *pw = w.ptr<float>();
  float* pdx = dx.ptr<float>();
  parallel_for(g.N * g.G * blocks, 1, [&](int64_t t0, int64_t t1) {
    Positions ps;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = t / (g.G * blocks), grp = (t / blocks) % g.G, c0 = (t % blocks) * cb;
      const int64_t nch = std::min(cb, cin_g - c0), rows = nch * kk;
      const float* dyg = pdy + (n * g.Cout + grp * Cg) * P;  // (Cg, P)
      float* dxg = pdx + (n * g.Cin + grp * cin_g) * plane;     // the group's channels of item n
      // W_g^T rows of the block, (rows, Cg) at strides (1, Kc), packed once for all P tiles.
      const gemm::PackedA A = gemm::pack_a_all(pw + grp * Cg * Kc + c0 * kk, 1, Kc, rows, Cg,
                                               thread_buffer(3, gemm::packed_a_size(rows, Cg)));
      auto pack_w = [&](int64_t m0, int64_t, int64_t k0, int64_t, float*) { return A.at(m0, k0); };
      auto pack_dy = [&](int64_t p0) {
        return [&, p0](int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* buf) {
          gemm::pack_b(dyg, P, 1, k0, kc, p0 + n0, nc, nr, buf);
          return static_cast<const float*>(buf);
        };
      };
      const float* bias_c = bias ? bias + grp * cin_g + c0 : nullptr;
      if (pointwise) {
        gemm::gemm_serial(nch, P, Cg, pack_w, pack_dy(0), dxg + c0 * plane, plane, false, bias_c, kNb);
        continue;
      }
      for (int64_t c = 0; c < nch; ++c)
        std::fill(dxg + (c0 + c) * plane, dxg + (c0 + c + 1) * plane, bias_c ? bias_c[c] : 0.f);
      float* dcol = thread_buffer(2, static_cast<size_t>(rows * kPosTile));
      for (int64_t p0 = 0; p0 < P; p0 += kPosTile) {
        const int64_t np = std::min(kPosTile, P - p0);
        gemm::gemm_serial(rows, np, Cg, pack_w, pack_dy(p0), dcol, np, false, nullptr, kPosTile);
        positions_of(g, p0, np, ps);
        scatter_col(g, dcol, rows, c0, ps, dxg);
      }
    }
  });
}

void conv_backward_weight_cpu(const ConvGeom& g, const Tensor& x, const Tensor& dy, Tensor& dw) {
  const int64_t P = g.P(), Kc = g.Kc(), Cg = g.Cout / g.G, cin_g = g.Cin / g.G, plane = g.ih * g.iw;
  const int mr = micro_kernel().mr, nr = micro_kernel().nr;
  // Blocks of dW_g: split the side with more strips until there are enough tasks. Each task packs
  // its rows of dy and its columns of col^T for every item, so a block is kept wide: its packing
  // is ~1 / (2 x block width) of its arithmetic.
  const int64_t sm = (Cg + mr - 1) / mr, sj = (Kc + nr - 1) / nr;
  int64_t nm = 1, nj = 1;
  while (g.G * nm * nj < want_tasks()) {
    if (nj < sj && (sj + nj - 1) / nj >= (sm + nm - 1) / nm) ++nj;
    else if (nm < sm) ++nm;
    else break;
  }
  const int64_t mb = mr * ((sm + nm - 1) / nm), jb = nr * ((sj + nj - 1) / nj);
  nm = (Cg + mb - 1) / mb;
  nj = (Kc + jb - 1) / jb;
  const float *px = x.ptr<float>(), *pdy = dy.ptr<float>();
  float* pdw = dw.ptr<float>();
  parallel_for(g.G * nm * nj, 1, [&](int64_t t0, int64_t t1) {
    Positions ps;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t grp = t / (nm * nj), m0 = ((t / nj) % nm) * mb, j0 = (t % nj) * jb;
      const int64_t mc_all = std::min(mb, Cg - m0), nc_all = std::min(jb, Kc - j0);
      float* c = pdw + (grp * Cg + m0) * Kc + j0;
      for (int64_t n = 0; n < g.N; ++n) {
        const float* dyg = pdy + (n * g.Cout + grp * Cg + m0) * P;  // rows of the block: (mc_all, P)
        const float* xg = px + (n * g.Cin + grp * cin_g) * plane;
        int64_t have = -1;
        gemm::gemm_serial(
            mc_all, nc_all, P,
            [&](int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* buf) {
              gemm::pack_a(dyg, P, 1, i0, mc, k0, kc, mr, buf);
              return gemm::Panel{buf, kc};
            },
            [&](int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* buf) {
              if (have != k0) positions_of(g, k0, kc, ps), have = k0;
              pack_col_t(g, xg, ps, kc, j0 + n0, nc, nr, buf);
              return static_cast<const float*>(buf);
            },
            c, Kc, n > 0, nullptr, kNb);
      }
    }
  });
}

// Per-channel sum of a (N, C, P), in double: eight lanes per row (vectorised; fixed order, so
// the result does not depend on the thread count), then the lanes pairwise.
void channel_sum_cpu(const Tensor& a, int64_t N, int64_t C, int64_t P, Tensor& out) {
  const float* pa = a.ptr<float>();
  float* po = out.ptr<float>();
  parallel_for(C, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, N * P)), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int64_t n = 0; n < N; ++n) {
        const float* r = pa + (n * C + c) * P;
        int64_t p = 0;
        for (; p + 8 <= P; p += 8)
          for (int l = 0; l < 8; ++l) lane[l] += r[p + l];
        for (int l = 0; p < P; ++p, ++l) lane[l] += r[p];
      }
      po[c] = static_cast<float>(((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7])));
    }
  });
}

}  // namespace ms
