// Process-wide malloc settings for inference loops.
#pragma once

namespace qp {

// Every encoder layer allocates and frees its activations (tens of MB for a
// batch of 32 × 128 tokens) on each call. glibc serves blocks above its mmap
// threshold with fresh mappings and hands the heap top back above its trim
// threshold, so each batch page-faults the same memory in again: ≈ 12% of a
// MiniLM batch went to system time here. This keeps freed blocks (up to
// glibc's 32 MiB mmap ceiling) in the heap for the next batch. A process
// that measures memory per model calls malloc_trim(0) between them, which
// still returns everything. Idempotent; a no-op off glibc.
void retain_freed_memory();

// Gives the heap's free memory back to the system now (glibc's malloc_trim),
// so that the next model's resident set is its own. A no-op off glibc.
void release_freed_memory();

}  // namespace qp
