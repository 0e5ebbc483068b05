#include "quantpipe/heap_tuning.h"

#if __has_include(<malloc.h>)
#include <malloc.h>
#endif

namespace qp {

void retain_freed_memory() {
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)
  // 32 MiB is the largest mmap threshold glibc accepts on 64-bit.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}

void release_freed_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace qp
