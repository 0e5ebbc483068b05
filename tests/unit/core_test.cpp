#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/dtype.h"
#include "core/half.h"
#include "core/staging_dir.h"
#include "core/thread_pool.h"
#include "io_test_util.h"
#include "quantpipe/model.h"
#include "sanitizer_skip.h"
#include "test_paths.h"

namespace qp {
namespace {

TEST(Half, RoundTripsEveryFiniteHalf) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const uint16_t bits = static_cast<uint16_t>(h);
    if ((bits & 0x7C00) == 0x7C00) continue;  // inf / nan
    EXPECT_EQ(f32_to_f16(f16_to_f32(bits)), bits) << "half bits " << h;
  }
}

TEST(Half, KnownValues) {
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7C00)));
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);                      // rounds to inf
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);  // tie to even
}

TEST(DType, TableMatchesSafetensorsNames) {
  EXPECT_EQ(dtype_from_safetensors_name("BF16"), DType::BF16);
  EXPECT_EQ(dtype_size(DType::F16), 2u);
  EXPECT_EQ(dtype_name(DType::U32), "U32");
  EXPECT_FALSE(dtype_from_safetensors_name("F8_E4M3").has_value());
}

TEST(ThreadPool, CoversRangeExactlyOnce) {
  ThreadPool pool(3);
  for (int64_t n : {1, 2, 3, 7, 1000}) {
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) ++hits[i];
    });
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
  }
}

// ---------------------------------------------------------------------------
// Forked children: for what must not happen in the test process itself (an
// address-space limit, a kill, a hang).

struct ChildOutcome {
  int exit_code = -1;   // -1: did not exit normally
  int term_signal = 0;  // SIGALRM: the guard fired, the child hung
  std::string message;  // what the child wrote to its report pipe
};

// Runs fn(report_fd) in a forked child that the kernel kills with SIGALRM
// after guard_seconds, so a hang fails the test instead of stalling the suite.
ChildOutcome run_in_child(const std::function<int(int)>& fn, unsigned guard_seconds = 60) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) ADD_FAILURE() << "pipe: " << std::strerror(errno);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    ::alarm(guard_seconds);
    ::_exit(fn(pipe_fds[1]));
  }
  ::close(pipe_fds[1]);
  ChildOutcome outcome;
  char buffer[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    outcome.message.append(buffer, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.term_signal = WTERMSIG(status);
  return outcome;
}

void report(int fd, const std::string& text) {
  [[maybe_unused]] auto n = ::write(fd, text.data(), text.size());
}

// Bytes of address space this process maps now.
size_t mapped_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0;
  statm >> pages;
  return pages * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

TEST(ThreadPool, RefusesCountsOutOfRange) {
  test::expect_error([] { ThreadPool pool(-1); },
                     {"thread count -1", "expected 0 (all hardware threads) to"});
  const int too_many = max_threads() + 1;
  test::expect_error([&] { ThreadPool pool(too_many); },
                     {"thread count " + std::to_string(too_many), std::to_string(max_threads())});
  EXPECT_GE(max_threads(), 256);
  EXPECT_GE(max_threads(), hardware_threads());
}

// The reproduction: `embed --threads 400` under a 2 GB address-space
// limit deadlocked in the pool's constructor, printing nothing. Here the
// limit leaves room for a few thread stacks only.
TEST(ThreadPool, RefusedThreadIsAnErrorNotAHang) {
  QP_SKIP_UNDER_SANITIZER("an address-space limit cannot be set");
  const ChildOutcome child = run_in_child([](int report_fd) {
    const rlim_t limit = mapped_bytes() + (48u << 20);
    const rlimit rl{limit, limit};
    if (::setrlimit(RLIMIT_AS, &rl) != 0) return 10;
    try {
      ThreadPool pool(max_threads());
      report(report_fd, "all " + std::to_string(pool.size()) + " threads started");
      return 11;
    } catch (const Error& e) {
      report(report_fd, e.what());
      return 0;
    }
  });
  ASSERT_NE(child.term_signal, SIGALRM) << "the pool hung when a thread could not be created";
  ASSERT_EQ(child.term_signal, 0) << "the child died of signal " << child.term_signal;
  ASSERT_NE(child.exit_code, 10) << "setrlimit failed";
  EXPECT_EQ(child.exit_code, 0) << child.message;
  EXPECT_NE(child.message.find("cannot start " + std::to_string(max_threads()) + " threads"),
            std::string::npos)
      << child.message;
  EXPECT_NE(child.message.find("ask for fewer threads"), std::string::npos) << child.message;
}

TEST(ModelLoad, ThreadCountIsCheckedBeforeTheModelIsRead) {
  test::expect_error([] { Model::load("/no/such/model", {100000}); },
                     {"LoadOptions::threads 100000", std::to_string(max_threads())});
  test::expect_error([] { Model::load("/no/such/model", {-2}); }, {"LoadOptions::threads -2"});
}

// ---------------------------------------------------------------------------
// Atomic files and staging directories

namespace fs = std::filesystem;

mode_t permissions(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Sets the umask for one scope.
class UmaskScope {
 public:
  explicit UmaskScope(mode_t mask) : previous_(::umask(mask)) {}
  ~UmaskScope() { ::umask(previous_); }

 private:
  mode_t previous_;
};

// Names in `dir` other than `except`.
std::vector<std::string> other_entries(const fs::path& dir, const std::string& except) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename() != except) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

fs::path make_output(const fs::path& dir, const std::string& content) {
  fs::create_directories(dir);
  test::write_bytes(dir / "model.txt", content);
  return dir;
}

TEST(AtomicFile, PermissionsFollowTheUmask) {
  const test::TempDir tmp;
  for (const mode_t mask : {mode_t{022}, mode_t{077}, mode_t{002}}) {
    const UmaskScope scope(mask);
    const fs::path path = tmp.path() / ("file-" + std::to_string(mask));
    write_file_atomic(path, "data");
    EXPECT_EQ(permissions(path), 0666 & ~mask) << "umask " << std::oct << mask;
  }
  EXPECT_TRUE(test::temp_leftovers(tmp.path()).empty());
}

TEST(StagingDir, PermissionsFollowTheUmask) {
  const test::TempDir tmp;
  for (const mode_t mask : {mode_t{022}, mode_t{027}, mode_t{002}}) {
    const UmaskScope scope(mask);
    const fs::path target = tmp.path() / ("out-" + std::to_string(mask));
    StagingDir staging(target, false);
    EXPECT_EQ(permissions(staging.path()), 0777 & ~mask);
    write_file_atomic(staging.path() / "config.json", "{}");
    staging.commit();
    EXPECT_EQ(permissions(target), 0777 & ~mask) << "umask " << std::oct << mask;
    EXPECT_EQ(permissions(target / "config.json"), 0666 & ~mask);
  }
}

TEST(StagingDir, ForceReplacesAndLeavesNothingBeside) {
  const test::TempDir tmp;
  const fs::path target = make_output(tmp.path() / "out", "old");
  test::expect_error([&] { StagingDir staging(target, false); }, {target.string(), "pass --force"});
  {
    StagingDir staging(target, true);
    test::write_bytes(staging.path() / "model.txt", "new");
    staging.commit();
  }
  EXPECT_EQ(test::read_bytes(target / "model.txt"), "new");
  EXPECT_EQ(other_entries(tmp.path(), "out"), std::vector<std::string>{});
}

TEST(StagingDir, UncommittedRunLeavesTheOldOutput) {
  const test::TempDir tmp;
  const fs::path target = make_output(tmp.path() / "out", "old");
  {
    StagingDir staging(target, true);
    test::write_bytes(staging.path() / "model.txt", "half");
  }
  EXPECT_EQ(test::read_bytes(target / "model.txt"), "old");
  EXPECT_EQ(other_entries(tmp.path(), "out"), std::vector<std::string>{});
}

// Both ways of swapping: one atomic exchange, and the two renames for file
// systems without RENAME_EXCHANGE.
TEST(StagingDir, SwapPutsTheNewOutputInPlaceAndReturnsTheOld) {
  for (const bool exchange : {true, false}) {
    const test::TempDir tmp;
    const fs::path target = make_output(tmp.path() / "out", "old");
    const fs::path ready = make_output(tmp.path() / "ready", "new");
    const fs::path previous = staging::swap_into_place(ready, target, exchange);
    EXPECT_EQ(test::read_bytes(target / "model.txt"), "new") << "exchange " << exchange;
    ASSERT_FALSE(previous.empty());
    EXPECT_EQ(test::read_bytes(previous / "model.txt"), "old") << "exchange " << exchange;
  }
}

// A kill after the swap, before the old output is removed: the new output
// is in place and the next run removes the old one.
TEST(StagingDir, KillAfterTheSwapIsTidiedByTheNextRun) {
  const test::TempDir tmp;
  const fs::path target = make_output(tmp.path() / "out", "old");
  const fs::path ready = make_output(tmp.path() / "out.tmp-Ab3xZ9", "new");
  const fs::path previous = staging::swap_into_place(ready, target);
  EXPECT_EQ(test::read_bytes(target / "model.txt"), "new");
  ASSERT_TRUE(fs::exists(previous));
  StagingDir next(target, true);
  EXPECT_FALSE(fs::exists(previous)) << "the old output left by the killed run is removed";
  EXPECT_EQ(test::read_bytes(target / "model.txt"), "new");
}

// A kill between the two fallback renames leaves no output at `target`:
// the next run puts the old one back.
TEST(StagingDir, KillBetweenTheFallbackRenamesIsRecovered) {
  const test::TempDir tmp;
  const fs::path target = make_output(tmp.path() / "out", "old");
  make_output(tmp.path() / "out.tmp-Zz9Yy8", "half");  // the new output, unfinished
  const fs::path aside = staging::move_aside(target);
  ASSERT_FALSE(fs::exists(target));
  ASSERT_NE(aside.filename().string().find("out.old-"), std::string::npos) << aside;
  test::expect_error([&] { StagingDir next(target, false); }, {"already exists"});
  EXPECT_EQ(test::read_bytes(target / "model.txt"), "old");
  EXPECT_EQ(other_entries(tmp.path(), "out"), std::vector<std::string>{});
}

TEST(StagingDir, NewestMovedAsideOutputIsRestored) {
  const test::TempDir tmp;
  const fs::path older = make_output(tmp.path() / "out.old-AAAAAA", "older");
  const fs::path newer = make_output(tmp.path() / "out.old-BBBBBB", "newer");
  fs::last_write_time(older, fs::last_write_time(newer) - std::chrono::hours(1));
  StagingDir next(tmp.path() / "out", true);
  EXPECT_EQ(test::read_bytes(tmp.path() / "out" / "model.txt"), "newer");
  EXPECT_FALSE(fs::exists(older));
  EXPECT_FALSE(fs::exists(newer));
}

// Only StagingDir's own names are touched: not other files, not a regular
// file, not another target's leftovers.
TEST(StagingDir, TidyingTouchesOnlyItsOwnLeftovers) {
  const test::TempDir tmp;
  make_output(tmp.path() / "out", "current");
  for (const char* name : {"out.tmp-Ab3xZ9", "out.old-Qq1Ww2"}) make_output(tmp.path() / name, "stale");
  for (const char* name : {"out.tmp-keep-this", "out.old-", "outer.tmp-Ab3xZ9", "other.old-Ab3xZ9"})
    make_output(tmp.path() / name, "user data");
  test::write_bytes(tmp.path() / "out.tmp-Cc3Dd4", "a file, perhaps an atomic write in progress");
  StagingDir next(tmp.path() / "out", true);
  const std::string staging_name = next.path().filename().string();
  std::vector<std::string> left;
  for (const std::string& name : other_entries(tmp.path(), "out"))
    if (name != staging_name) left.push_back(name);
  EXPECT_EQ(left, (std::vector<std::string>{"other.old-Ab3xZ9", "out.old-", "out.tmp-Cc3Dd4",
                                            "out.tmp-keep-this", "outer.tmp-Ab3xZ9"}));
}

// A second run never removes the directory a running one is building (or
// has moved aside): those are locked.
TEST(StagingDir, RunningRunsLeftoversAreLeftAlone) {
  const test::TempDir tmp;
  const fs::path target = make_output(tmp.path() / "out", "old");
  StagingDir first(target, true);
  test::write_bytes(first.path() / "model.txt", "first");
  const fs::path moved = make_output(tmp.path() / "out.old-Mm7Nn8", "being swapped");
  const int held = ::open(moved.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_EQ(::flock(held, LOCK_EX | LOCK_NB), 0);
  {
    StagingDir second(target, true);
    EXPECT_TRUE(fs::exists(first.path() / "model.txt"));
    EXPECT_TRUE(fs::exists(moved / "model.txt"));
  }
  ::close(held);
  first.commit();
  EXPECT_EQ(test::read_bytes(target / "model.txt"), "first");
}

// A real kill: the process dies holding its lock, the kernel drops it, and
// the next run removes what the killed one was building.
TEST(StagingDir, KilledRunsDirectoryIsRemovedByTheNextRun) {
  const test::TempDir tmp;
  const fs::path target = make_output(tmp.path() / "out", "old");
  const ChildOutcome child = run_in_child([&](int report_fd) {
    StagingDir staging(target, true);
    test::write_bytes(staging.path() / "model.txt", "half");
    report(report_fd, staging.path().string());
    ::raise(SIGKILL);
    return 0;
  });
  ASSERT_EQ(child.term_signal, SIGKILL);
  ASSERT_TRUE(fs::exists(fs::path(child.message) / "model.txt")) << child.message;
  StagingDir next(target, true);
  EXPECT_FALSE(fs::exists(child.message));
  EXPECT_EQ(test::read_bytes(target / "model.txt"), "old");
}

// A writer killed mid-write leaves "<path>.tmp-XXXXXX"; the next write of the
// same path removes it. Another path's temporary files, names AtomicFile never
// makes, and the file a running writer holds stay.
TEST(AtomicFile, KilledWritersTemporaryFileIsRemovedByTheNextWrite) {
  const test::TempDir tmp;
  const fs::path path = tmp.path() / "scores.json";
  write_file_atomic(path, "old");
  const ChildOutcome child = run_in_child([&](int report_fd) {
    AtomicFile file(path);
    file.write("half of the new");
    report(report_fd, file.temp_path().string());
    ::raise(SIGKILL);
    return 0;
  });
  ASSERT_EQ(child.term_signal, SIGKILL);
  ASSERT_TRUE(fs::exists(child.message)) << child.message;
  for (const char* name : {"scores.json.tmp-keep-this", "scores.json.tmp-", "other.json.tmp-Ab3xZ9"})
    test::write_bytes(tmp.path() / name, "user data");
  AtomicFile running(path);
  running.write("the running writer's");
  write_file_atomic(path, "new");
  EXPECT_FALSE(fs::exists(child.message)) << "the killed writer's temporary file is removed";
  EXPECT_TRUE(fs::exists(running.temp_path())) << "a running writer's temporary file stays";
  for (const char* name : {"scores.json.tmp-keep-this", "scores.json.tmp-", "other.json.tmp-Ab3xZ9"})
    EXPECT_EQ(test::read_bytes(tmp.path() / name), "user data") << name;
  EXPECT_EQ(test::read_bytes(path), "new");
  running.commit();
  EXPECT_EQ(test::read_bytes(path), "the running writer's");
}

}  // namespace
}  // namespace qp
