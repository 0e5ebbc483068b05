// std::vector storage that is sized without being zero-filled, for buffers
// whose every element is written before it is read (activations a batch of
// 32 × 128 MiniLM tokens would zero ≈ 50 MB of a layer for; code bytes that are
// unpacked over at once). Elements built with arguments are built as usual.
#pragma once

#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace qp {

template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

template <typename T>
using UninitializedVector = std::vector<T, UninitializedAllocator<T>>;

}  // namespace qp
