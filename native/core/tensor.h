// tensor.h — storage (owned native memory on one device) and Tensor (a strided view of it).
//
// Glossary: numel = number of elements; strides and offset count elements, not bytes; every
// size and offset is int64_t (a (4, 2048, 16, 16384) state is 2^31 elements: 32-bit offsets
// overflow there, as they do in mamba-ssm's selective-scan state arithmetic).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dtype.h"

namespace ms {

enum class Device : int32_t { CPU = 0, CUDA = 1 };
inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

// Live native memory of one JS environment (main thread or a worker_thread). The binding reads
// it for memory() and reports `pending_external` to V8 in chunks.
struct Accounting {
  std::atomic<int64_t> bytes[2] = {{0}, {0}};  // by Device
  std::atomic<int64_t> storages{0};
  std::atomic<int64_t> handles{0};            // live (attached, not disposed) tensor handles
  std::atomic<int64_t> pending_external{0};    // not yet reported to V8 (CUDA at 1/16: tensor.cpp)
};

struct Storage {
  void* data = nullptr;
  int64_t bytes = 0;
  Device device = Device::CPU;
  int device_index = 0;
  std::shared_ptr<Accounting> acct;
  // Set for memory borrowed from elsewhere (a JS ArrayBuffer): called instead of freeing.
  std::function<void()> release;
  std::function<bool()> still_valid;  // false once a borrowed buffer was detached

  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();
};

// Allocates `bytes` on a device through its caching allocator (host_allocator.h on the CPU,
// 64-byte aligned; cuda/allocator.cu). `op` names the caller in out-of-memory errors.
std::shared_ptr<Storage> allocate(const char* op, int64_t bytes, Device device,
                                  const std::shared_ptr<Accounting>& acct);

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;
  int64_t offset = 0;
  DType dtype = DType::F32;
  Device device = Device::CPU;
  std::shared_ptr<Storage> storage;

  int64_t numel() const;
  int64_t ndim() const { return static_cast<int64_t>(shape.size()); }
  bool is_contiguous() const;
  int64_t nbytes() const { return numel() * dtype_size(dtype); }
  void* data() const { return static_cast<char*>(storage->data) + offset * dtype_size(dtype); }
  template <typename T>
  T* ptr() const { return static_cast<T*>(data()); }
};

int64_t shape_numel(const std::vector<int64_t>& shape);
// Largest element count of a tensor: 2^53 - 1, what a JS number holds exactly (shapes, sizes and
// indices cross into JS as numbers). Bytes then stay below 2^56: no int64/size_t overflow.
constexpr int64_t kMaxNumel = (int64_t{1} << 53) - 1;
// Elements of `shape` with every product checked: a shape whose element count exceeds kMaxNumel
// (or wraps 64 bits: (274177, 67280421310721) is 2^64 + 1) is an error naming `op`, never a
// wrapped count that would size a buffer too small for its shape.
int64_t checked_numel(const char* op, const std::vector<int64_t>& shape);
std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape);

// A new contiguous tensor with uninitialised contents.
Tensor empty(const char* op, const std::vector<int64_t>& shape, DType dtype, Device device,
             const std::shared_ptr<Accounting>& acct);

}  // namespace ms
