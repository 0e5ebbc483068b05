// Runs the built quantpipe binary (or any program) as a child process for the
// integration tests: standard input from a file, stdout and stderr captured in
// files of a temporary directory, exit code or terminating signal reported.
// Also the checks every CLI failure test shares (one clear error line).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "../unit/io_test_util.h"
#include "../unit/test_paths.h"

extern char** environ;

namespace qp::test {

struct CliResult {
  int exit_code = -1;   // -1 when the process did not exit normally
  int term_signal = 0;  // the signal that ended it, else 0
  std::string out;
  std::string err;
};

inline std::ostream& operator<<(std::ostream& os, const CliResult& r) {
  return os << "exit " << r.exit_code << ", signal " << r.term_signal << "\n--- stdout ---\n"
            << r.out.substr(0, 2000) << "\n--- stderr ---\n"
            << r.err.substr(0, 4000);
}

// A started child process whose stdout/stderr go to files; wait() collects it.
class ChildProcess {
 public:
  // argv[0] is the program's path. Failing to start is a test failure (pid() < 0).
  explicit ChildProcess(const std::vector<std::string>& argv,
                        const std::filesystem::path& stdin_path = "/dev/null") {
    out_path_ = capture_.path() / "stdout";
    err_path_ = capture_.path() / "stderr";
    std::vector<std::string> storage = argv;
    std::vector<char*> pointers;
    for (std::string& arg : storage) pointers.push_back(arg.data());
    pointers.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, stdin_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int error = posix_spawn(&pid_, storage[0].c_str(), &actions, nullptr, pointers.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) {
      ADD_FAILURE() << "cannot start " << storage[0] << ": " << std::strerror(error);
      pid_ = -1;
    }
  }
  ~ChildProcess() {
    if (pid_ > 0 && !waited_) {
      kill(pid_, SIGKILL);
      wait();
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  std::string stderr_so_far() const { return read_bytes(err_path_); }

  CliResult wait() {
    CliResult result;
    if (pid_ <= 0) return result;
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    waited_ = true;
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
    result.out = read_bytes(out_path_);
    result.err = read_bytes(err_path_);
    return result;
  }

 private:
  TempDir capture_;
  std::filesystem::path out_path_, err_path_;
  pid_t pid_ = -1;
  bool waited_ = false;
};

// Runs a program to completion (argv[0] is its path).
inline CliResult run_program(const std::vector<std::string>& argv,
                             const std::filesystem::path& stdin_path = "/dev/null") {
  ChildProcess child(argv, stdin_path);
  return child.wait();
}

// Runs quantpipe with `args`, standard input read from `stdin_path`.
inline CliResult run_cli(const std::vector<std::string>& args,
                         const std::filesystem::path& stdin_path = "/dev/null") {
  std::vector<std::string> argv = {quantpipe_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, stdin_path);
}

inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// stderr without the "[info]" log lines.
inline std::vector<std::string> error_lines(const std::string& err) {
  std::vector<std::string> lines;
  for (std::string& line : split_lines(err))
    if (line.rfind("[info]", 0) != 0) lines.push_back(std::move(line));
  return lines;
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A failed run: exit code 1 (not a signal), nothing on stdout, and one error
// line on stderr that contains every part.
inline void expect_clean_failure(const CliResult& r, std::initializer_list<std::string> parts) {
  EXPECT_EQ(r.term_signal, 0) << r;
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "") << r;
  const std::vector<std::string> lines = error_lines(r.err);
  ASSERT_EQ(lines.size(), 1u) << r;
  for (const std::string& part : parts)
    EXPECT_TRUE(contains(lines[0], part)) << "'" << part << "' not in: " << lines[0];
}

// One JSON value per line of a command's output.
inline std::vector<nlohmann::json> parse_jsonl(const std::string& out) {
  std::vector<nlohmann::json> rows;
  for (const std::string& line : split_lines(out)) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

// A command line refused before anything runs: exit status 2 (a usage
// error), nothing on stdout, the message on stderr.
struct UsageCase {
  std::string name;
  std::vector<std::string> args;
  std::string message;
};

inline void expect_usage_error(const UsageCase& c) {
  const CliResult r = run_cli(c.args);
  EXPECT_EQ(r.term_signal, 0) << r;
  EXPECT_EQ(r.exit_code, 2) << "a usage error, " << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_TRUE(contains(r.err, c.message)) << r;
}

}  // namespace qp::test
