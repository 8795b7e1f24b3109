#include "tensor.h"

#include <cstdlib>
#include <new>

#include "cuda_api.h"
#include "error.h"

namespace ms {

Storage::~Storage() {
  if (release) {
    release();
  } else if (data) {
    if (device == Device::CPU) std::free(data);
    else cuda::free(data, static_cast<size_t>(bytes), device_index);
  }
  if (acct) {
    acct->bytes[static_cast<int>(device)] -= bytes;
    acct->storages -= 1;
    acct->pending_external -= bytes;
  }
}

std::shared_ptr<Storage> allocate(const char* op, int64_t bytes, Device device,
                                  const std::shared_ptr<Accounting>& acct) {
  auto s = std::make_shared<Storage>();
  s->bytes = bytes;
  s->device = device;
  if (device == Device::CPU) {
    // aligned_alloc needs a size that is a multiple of the alignment; 0 bytes still gets a
    // valid pointer so empty tensors need no special case downstream.
    size_t rounded = (static_cast<size_t>(bytes) + 63) & ~static_cast<size_t>(63);
    s->data = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    if (!s->data) fail(op, "out of CPU memory allocating ", bytes, " bytes");
  } else {
    s->data = cuda::alloc(op, static_cast<size_t>(bytes), 0);
  }
  s->acct = acct;
  if (acct) {
    acct->bytes[static_cast<int>(device)] += bytes;
    acct->storages += 1;
    acct->pending_external += bytes;
  }
  return s;
}

int64_t shape_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
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
  t.storage = allocate(op, shape_numel(shape) * dtype_size(dtype), device, acct);
  return t;
}

}  // namespace ms
