#include "tensor.h"

#include <cstdlib>
#include <new>

#include "cuda_api.h"
#include "error.h"
#include "host_allocator.h"

namespace ms {

// Bytes of a storage as reported to V8 (Accounting::pending_external): host bytes in full, CUDA
// bytes at 1/16. V8 starts a garbage collection whenever reported external memory grows ~64 MB
// past its level at the last one; a training step that allocates and disposes a few hundred MB
// of GPU tensors would otherwise pay a full GC (~1 ms of host time, the GPU idling) every step
// (seen: selectiveScan forward+backward at (16, 1536, 16, 1024) alternating 1.95 / 2.9 ms on an
// H200). Forgotten CUDA tensors still make V8 collect (and the FinalizationRegistry free them)
// about every 1 GB.
static int64_t external_bytes(int64_t bytes, Device device) { return device == Device::CPU ? bytes : bytes / 16; }

Storage::~Storage() {
  if (release) {
    release();
  } else if (data) {
    if (device == Device::CPU) host::free(data, static_cast<size_t>(bytes));
    else cuda::free(data, static_cast<size_t>(bytes), device_index);
  }
  if (acct) {
    acct->bytes[static_cast<int>(device)] -= bytes;
    acct->storages -= 1;
    acct->pending_external -= external_bytes(bytes, device);
  }
}

std::shared_ptr<Storage> allocate(const char* op, int64_t bytes, Device device,
                                  const std::shared_ptr<Accounting>& acct) {
  auto s = std::make_shared<Storage>();
  s->bytes = bytes;
  s->device = device;
  if (device == Device::CPU) {
    // 0 bytes still gets a valid pointer so empty tensors need no special case downstream.
    s->data = host::alloc(op, static_cast<size_t>(bytes));
  } else {
    s->data = cuda::alloc(op, static_cast<size_t>(bytes), 0);
  }
  s->acct = acct;
  if (acct) {
    acct->bytes[static_cast<int>(device)] += bytes;
    acct->storages += 1;
    acct->pending_external += external_bytes(bytes, device);
  }
  return s;
}

int64_t shape_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t checked_numel(const char* op, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  bool overflow = false, empty = false;
  for (int64_t d : shape) {
    if (d < 0 || d > kMaxNumel) fail(op, "shape ", shape_str(shape), " has dim ", d, " outside [0, 2^53)");
    empty = empty || d == 0;
    if (!overflow && (__builtin_mul_overflow(n, d, &n) || n > kMaxNumel)) overflow = true;
  }
  if (empty) return 0;  // whatever the other dims multiply to
  if (overflow) fail(op, "shape ", shape_str(shape), " has more than 2^53 - 1 elements");
  return n;
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> st(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

int64_t Tensor::numel() const { return shape_numel(shape); }

bool Tensor::is_contiguous() const {
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && strides[i] != s) return false;
    s *= shape[i];
  }
  return true;
}

Tensor empty(const char* op, const std::vector<int64_t>& shape, DType dtype, Device device,
             const std::shared_ptr<Accounting>& acct) {
  Tensor t;
  t.shape = shape;
  t.strides = contiguous_strides(shape);
  t.dtype = dtype;
  t.device = device;
  t.storage = allocate(op, checked_numel(op, shape) * dtype_size(dtype), device, acct);
  return t;
}

}  // namespace ms
