// Kill points: the places where quantpipe makes an output durable (a chunk
// written to a temporary file, a rename into place, a directory swap, a
// downloaded blob moved in) call kill_point(). The crash-safety tests
// (tests/integration/crash_safety_test.cpp) stop a real run at each of them
// the way `kill -9` or a power cut would, and then check that no earlier good
// output was damaged and no half-written file stands under a final name.
//
//   QUANTPIPE_KILL_TRACE=FILE  appends one line per point reached to FILE
//                              ("<n> <point> <path>"), so a test can count them;
//   QUANTPIPE_KILL_AT=N        sends SIGKILL to the process at its N-th point.
//
// Without either variable a kill point costs one load of a flag read once.
#pragma once

#include <filesystem>

namespace qp {

// `point` names the step ("file.renamed"); `path` is the file it concerns.
void kill_point(const char* point, const std::filesystem::path& path = {});

}  // namespace qp
