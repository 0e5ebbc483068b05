// LinearF32: packs W once for the ISA active at construction and splits
// forward() into (row block × panel block) tasks for the thread pool.
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/profiler.h"
#include "kernels/dispatch.h"
#include "kernels/kernels.h"

namespace qp::kernels {

struct LinearF32::Impl {
  int n = 0;
  int k = 0;
  const KernelTable* table = nullptr;  // the row W was packed for
  AlignedFloats packed;
  AlignedFloats bias;  // padded to whole panels; null without bias
};

namespace {

// k slice per micro-kernel pass: a 256 × 32 panel slice (32 KiB) stays in L1.
// Shallower depths are not split, as a split would only add C traffic.
int k_slice(int k) {
  if (k <= 256) return std::max(k, 1);
  const int slices = (k + 255) / 256;
  return (k + slices - 1) / slices;
}

}  // namespace

LinearF32::LinearF32(const float* w, int n, int k, const float* bias) : impl_(std::make_unique<Impl>()) {
  if (n <= 0 || k < 0) fail("[kernels] LinearF32 needs n > 0 and k >= 0, got n=", n, " k=", k);
  Impl& im = *impl_;
  im.n = n;
  im.k = k;
  im.table = &active_kernel_table();
  const int nr = im.table->nr;
  const int padded_n = panel_count(n, nr) * nr;
  im.packed = alloc_floats(static_cast<int64_t>(padded_n) * k);
  pack_panels(w, k, n, k, nr, im.packed.get());
  if (bias) {
    im.bias = alloc_floats(padded_n);
    std::fill(im.bias.get(), im.bias.get() + padded_n, 0.0f);
    std::memcpy(im.bias.get(), bias, sizeof(float) * n);
  }
}

LinearF32::LinearF32(LinearF32&&) noexcept = default;
LinearF32& LinearF32::operator=(LinearF32&&) noexcept = default;
LinearF32::~LinearF32() = default;

int LinearF32::n() const { return impl_->n; }
int LinearF32::k() const { return impl_->k; }
Isa LinearF32::isa() const { return impl_->table->isa; }

void LinearF32::forward(const float* x, int m, float* y, ThreadPool& pool, Epilogue epilogue) const {
  if (m <= 0) return;
  const profile::GemmScope scope;
  const Impl& im = *impl_;
  const KernelTable& table = *im.table;
  const PackedGemm g{x, im.k, im.packed.get(), im.bias.get(), y, im.n, im.n, im.k, epilogue};
  // Row blocks of 16 tiles keep the A block (≤ 128 × kc floats) in L2; panel
  // blocks shrink until there are enough tasks to keep every thread busy.
  const int row_block = 16 * table.mr;
  const int row_blocks = (m + row_block - 1) / row_block;
  const int panels = panel_count(im.n, table.nr);
  int panel_block = 4;
  while (panel_block > 1 && row_blocks * panel_count(panels, panel_block) < 4 * pool.size()) panel_block /= 2;
  const int panel_blocks = panel_count(panels, panel_block);
  const int kc = k_slice(im.k);
  pool.parallel_for(static_cast<int64_t>(row_blocks) * panel_blocks, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int rb = static_cast<int>(task / panel_blocks), pb = static_cast<int>(task % panel_blocks);
      const int m0 = rb * row_block, p0 = pb * panel_block;
      gemm_block(table, g, m0, std::min(m, m0 + row_block), p0, std::min(panels, p0 + panel_block), kc);
    }
  });
}

}  // namespace qp::kernels
