// Integration tests of how the quantpipe command line reads its input and
// writes its results (issue 10): every write to stdout checked (a full disk
// is an error naming <stdout>), input streamed batch by batch with a bound
// on one line, JSONL lines that are not objects refused with file:line, and
// thread counts, batch sizes and lengths bounded with a clear message.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "../unit/io_test_util.h"
#include "../unit/sanitizer_skip.h"
#include "../unit/test_paths.h"
#include "cli_runner.h"
#include "core/thread_pool.h"
#include "models/tiny_model.h"
#include "tiny_models_fixture.h"

namespace qp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::CliResult;
using test::contains;
using test::expect_clean_failure;
using test::parse_jsonl;
using test::run_cli;
using test::run_program;
using test::split_lines;

// A word for the shell, quoted.
std::string sh_quote(const std::string& word) {
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Runs `prefix; exec [launcher] quantpipe args… suffix` in /bin/sh: for
// redirections and limits the runner does not make (> /dev/full, ulimit).
CliResult run_cli_in_shell(const std::string& prefix, const std::vector<std::string>& args,
                           const std::string& suffix, const std::string& launcher = "") {
  std::string command =
      prefix + (prefix.empty() ? "" : "; ") + "exec " + launcher + " " + sh_quote(test::quantpipe_binary());
  for (const std::string& arg : args) command += " " + sh_quote(arg);
  return run_program({"/bin/sh", "-c", command + " " + suffix});
}

constexpr int kLabels = test::kTinyLabels;

class CliIo : public test::TinyModelsTest {
 protected:
  // The arguments of `command` on `input` with the model it needs.
  std::vector<std::string> args_for(const std::string& command, const fs::path& input) const {
    const fs::path model = command == "classify" ? classify_model() : embed_model();
    return {command, "-m", model.string(), "-i", input.string()};
  }
};

const char* const kJsonl =
    "{\"text\": \"the cat sat on the mat\"}\n"
    "{\"text\": \"hello\", \"text_pair\": \"world\"}\n"
    "{\"text\": \"x\"}\n";

// ---------------------------------------------------------------------------
// No silent loss of output

class CliFullDisk : public CliIo, public ::testing::WithParamInterface<std::string> {};

// The issue: `> /dev/full` exited 0 with every result lost.
TEST_P(CliFullDisk, WriteFailureIsAnErrorNamingStdout) {
  const CliResult r =
      run_cli_in_shell("", args_for(GetParam(), write_file("in.jsonl", kJsonl)), "> /dev/full");
  EXPECT_EQ(r.term_signal, 0) << r;
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "<stdout>: write failed: No space left on device")) << r;
}

INSTANTIATE_TEST_SUITE_P(StreamingCommands, CliFullDisk, ::testing::Values("embed", "classify", "tokenize"));

// A disk that fills up half-way (here a file size limit: EFBIG) stops the
// run with an error, not exit 0 with 2 of 1000 lines.
TEST_F(CliIo, DiskFillingUpHalfWayIsAnError) {
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "line number " + std::to_string(i) + " of the input\n";
  const fs::path out = tmp_.path() / "out.jsonl";
  const CliResult r =
      run_cli_in_shell("ulimit -f 64", args_for("embed", write_file("many.txt", many)), "> " + sh_quote(out));
  EXPECT_EQ(r.term_signal, 0) << r;
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "<stdout>: write failed: File too large")) << r;
  EXPECT_GT(fs::file_size(out), 0u) << "what fitted was written";
}

TEST_F(CliIo, ClosedStdoutIsAnError) {
  const CliResult r = run_cli_in_shell("", args_for("tokenize", write_file("in.jsonl", kJsonl)), ">&-");
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "<stdout>: write failed: Bad file descriptor")) << r;
}

// Every other command prints through the same checked stdout.
TEST_F(CliIo, OtherCommandsCheckStdoutToo) {
  const std::vector<std::vector<std::string>> commands = {
      {"inspect", classify_model().string()},
      {"bench", "-m", embed_model().string(), "--runs", "1", "--warmup", "0", "--json"},
      {"eval", "-m", classify_model().string(), "-d", write_file("data.jsonl", kJsonl).string(), "--json",
       "--task", "unlabelled", "--latency-queries", "0", "--speed-rounds", "0"},
      {"--help"},
      {"--version"}};
  for (const std::vector<std::string>& args : commands) {
    const CliResult r = run_cli_in_shell("", args, "> /dev/full");
    EXPECT_EQ(r.exit_code, 1) << args[0] << ": " << r;
    EXPECT_TRUE(contains(r.err, "<stdout>: write failed: No space left on device")) << args[0] << ": " << r;
  }
}

// ---------------------------------------------------------------------------
// Bounds

class CliBounds : public ::testing::TestWithParam<test::UsageCase> {};

// `--threads 100000` started 32,000 threads and starved the machine.
TEST_P(CliBounds, OutOfRangeIsRefusedBeforeAnythingRuns) { test::expect_usage_error(GetParam()); }

const std::string kMaxThreadsText = std::to_string(max_threads());

INSTANTIATE_TEST_SUITE_P(
    Options, CliBounds,
    ::testing::Values(
        test::UsageCase{"embed_threads",
                        {"embed", "-m", "m", "--threads", "100000"},
                        "--threads: must be at most " + kMaxThreadsText + ", got 100000"},
        test::UsageCase{"classify_threads",
                        {"classify", "-m", "m", "-t", "40000"},
                        "--threads: must be at most " + kMaxThreadsText + ", got 40000"},
        test::UsageCase{
            "negative_threads", {"embed", "-m", "m", "--threads", "-1"}, "--threads: must be at least 0"},
        test::UsageCase{"huge_threads",
                        {"embed", "-m", "m", "--threads", "99999999999999999999"},
                        "--threads: must be at most " + kMaxThreadsText},
        test::UsageCase{"bench_threads",
                        {"bench", "-m", "m", "--threads", "1,100000"},
                        "--threads: must be at most " + kMaxThreadsText + ", got 100000"},
        test::UsageCase{"eval_threads",
                        {"eval", "-m", "m", "-d", "d", "--threads", "100000"},
                        "--threads: must be at most " + kMaxThreadsText},
        test::UsageCase{"pipeline_threads",
                        {"pipeline", "--threads", "100000"},
                        "--threads: must be at most " + kMaxThreadsText},
        test::UsageCase{
            "pipeline_negative_threads", {"pipeline", "--threads", "-5"}, "--threads: must be at least 0"},
        test::UsageCase{
            "pipeline_jobs", {"pipeline", "--jobs", "100000"}, "--jobs: must be at most " + kMaxThreadsText},
        test::UsageCase{
            "demo_threads", {"demo", "--threads", "100000"}, "--threads: must be at most " + kMaxThreadsText},
        test::UsageCase{"demo_jobs", {"demo", "--jobs", "0"}, "--jobs: must be at least 1"},
        test::UsageCase{"batch_size",
                        {"classify", "-m", "m", "--batch-size", "100000"},
                        "--batch-size: must be at most 1024, got 100000"},
        test::UsageCase{"eval_batch_size",
                        {"eval", "-m", "m", "-d", "d", "--batch-size", "100000"},
                        "--batch-size: must be at most 1024, got 100000"},
        test::UsageCase{"pipeline_batch_size",
                        {"pipeline", "--batch-size", "100000"},
                        "--batch-size: must be at most 1024, got 100000"},
        test::UsageCase{"max_length",
                        {"tokenize", "-m", "m", "--max-length", "10000000"},
                        "--max-length: must be at most 65536, got 10000000"},
        test::UsageCase{"bench_sequences",
                        {"bench", "-m", "m", "--sequences", "2000000000"},
                        "--sequences: must be at most"}),
    [](const auto& info) { return info.param.name; });

// The issue: 400 threads under an address-space limit deadlocked in the
// thread pool's constructor, printing nothing. The limit leaves room for
// the model and a few dozen thread stacks; `timeout` turns a hang into a
// failure instead of a stalled suite.
TEST_F(CliIo, ThreadsTheSystemRefusesAreAnErrorNotAHang) {
  QP_SKIP_UNDER_SANITIZER("an address-space limit cannot be set");
  const CliResult r =
      run_cli_in_shell("ulimit -s 8192; ulimit -v 600000",
                       {"embed", "-m", embed_model().string(), "-i", write_file("in.txt", "hello\n").string(),
                        "--threads", kMaxThreadsText},
                       "", "timeout -s KILL 300");
  EXPECT_EQ(r.term_signal, 0) << r;
  EXPECT_NE(r.exit_code, 137) << "hung until timeout killed it: " << r;
  EXPECT_EQ(r.exit_code, 1) << r;
  expect_clean_failure(r, {"cannot start " + kMaxThreadsText + " threads", "ask for fewer threads"});
}

// ---------------------------------------------------------------------------
// convert --force: leftovers of killed runs, permissions

mode_t permissions(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The issue: outputs were made 0700 whatever the umask, and `out.old-*` /
// `out.tmp-*` left by killed runs were never cleaned (9 after 9 kills).
TEST_F(CliIo, ConvertTidiesKilledRunsLeftoversAndFollowsTheUmask) {
  const fs::path parent = tmp_.path() / "converted";
  fs::create_directories(parent);
  const fs::path out = parent / "out";
  const std::vector<std::string> convert = {"convert", "-m", classify_model().string(), "--out", out.string(),
                                            "--bits",  "8"};
  const CliResult first = run_cli_in_shell("umask 027", convert, "");
  ASSERT_EQ(first.exit_code, 0) << first;
  EXPECT_EQ(permissions(out), 0750u);
  EXPECT_EQ(permissions(out / "config.json"), 0640u);

  // What killed runs leave: a half-built output and a moved-aside old one.
  for (const char* name : {"out.tmp-Ab3xZ9", "out.old-Cd4eF5"}) {
    fs::create_directories(parent / name);
    test::write_bytes(parent / name / "model.safetensors", "partial");
  }
  std::vector<std::string> args = convert;
  args.push_back("--force");
  const CliResult forced = run_cli(args);
  ASSERT_EQ(forced.exit_code, 0) << forced;
  EXPECT_EQ(entries(parent), std::vector<std::string>{"out"});

  // Killed between the two renames of the fallback: no `out`, the old one
  // aside. The next run puts it back (and, without --force, keeps it).
  const std::string config = test::read_bytes(out / "config.json");
  fs::rename(out, parent / "out.old-Ef5gH6");
  const CliResult again = run_cli(convert);
  EXPECT_EQ(again.exit_code, 1) << again;
  EXPECT_TRUE(contains(again.err, "already exists; pass --force")) << again;
  EXPECT_EQ(entries(parent), std::vector<std::string>{"out"});
  EXPECT_EQ(test::read_bytes(out / "config.json"), config);
}

// ---------------------------------------------------------------------------
// Input: JSONL checked line by line, bounded lines

struct BadLineCase {
  std::string name;
  std::string line;
  std::vector<std::string> message;
};

class CliBadJsonl : public CliIo, public ::testing::WithParamInterface<BadLineCase> {};

// The issue: `{"text": "The movie was gr` and `[1, 2, 3]` were classified as
// raw text with exit 0.
TEST_P(CliBadJsonl, BadLineIsAnErrorNamingFileAndLine) {
  const fs::path input = write_file("in.jsonl", "{\"text\": \"a good line\"}\n" + GetParam().line + "\n");
  for (const std::string command : {"classify", "tokenize", "embed"}) {
    const CliResult r = run_cli(args_for(command, input));
    std::vector<std::string> parts = {input.string() + ":2: "};
    parts.insert(parts.end(), GetParam().message.begin(), GetParam().message.end());
    SCOPED_TRACE(command);
    EXPECT_EQ(r.exit_code, 1) << r;
    // Results stream out: the good first line's may have been written.
    EXPECT_LE(split_lines(r.out).size(), 1u) << r;
    for (const std::string& part : parts) EXPECT_TRUE(contains(r.err, part)) << part << "\n" << r;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Lines, CliBadJsonl,
    ::testing::Values(BadLineCase{"truncated", "{\"text\": \"The movie was gr", {"not valid JSON at byte"}},
                      BadLineCase{"array", "[1, 2, 3]", {"expected a JSON object", "got array"}},
                      BadLineCase{"plain_text", "a plain line of text", {"not valid JSON"}},
                      BadLineCase{"string", "\"just a string\"", {"expected a JSON object", "got string"}},
                      BadLineCase{"no_text", "{\"label\": 1}", {"no string field \"text\""}},
                      BadLineCase{"text_not_string", "{\"text\": 5}", {"no string field \"text\""}},
                      BadLineCase{"pair_not_string",
                                  "{\"text\": \"a\", \"text_pair\": [1]}",
                                  {"\"text_pair\" must be a string"}},
                      BadLineCase{"deeply_nested",
                                  "{\"text\": " + std::string(100000, '[') + std::string(100000, ']') + "}",
                                  {"nested deeper than"}}),
    [](const auto& info) { return info.param.name; });

TEST_F(CliIo, BrokenFirstJsonLineIsAnError) {
  const fs::path input = write_file("in.jsonl", "{\"text\": \"The movie was gr\n{\"text\": \"fine\"}\n");
  expect_clean_failure(run_cli(args_for("classify", input)), {input.string() + ":1: ", "not valid JSON"});
}

// Plain text stays plain text: every line, empty ones and ones that happen
// to look like JSON later on, is one text.
TEST_F(CliIo, PlainTextLinesAreTextsWhateverTheyLookLike) {
  const fs::path input = write_file("in.txt", "\nfirst line\n{\"text\": \"x\"}\n[1, 2]\n\n");
  const CliResult r = run_cli(args_for("tokenize", input));
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::vector<json> rows = parse_jsonl(r.out);
  ASSERT_EQ(rows.size(), 5u) << r;
  const CliResult alone = run_cli(args_for("tokenize", write_file("one.txt", "text\n{\"text\": \"x\"}\n")));
  ASSERT_EQ(alone.exit_code, 0) << alone;
  EXPECT_EQ(rows[2], parse_jsonl(alone.out).at(1)) << "the JSON-looking line is tokenized as it stands";
  EXPECT_NE(rows[2], parse_jsonl(run_cli(args_for("tokenize", write_file("x.txt", "x\n"))).out).at(0));
  EXPECT_EQ(rows[0], rows[4]) << "empty lines are empty texts";
}

// JSONL with blank lines (a trailing one, say) and a byte order mark.
TEST_F(CliIo, JsonlBlankLinesHoldNoRecord) {
  const fs::path plain = write_file("plain.jsonl", kJsonl);
  const fs::path spaced =
      write_file("spaced.jsonl", std::string("\xEF\xBB\xBF") + "\n\n" + kJsonl + "\n  \n");
  const CliResult a = run_cli(args_for("classify", plain));
  const CliResult b = run_cli(args_for("classify", spaced));
  ASSERT_EQ(a.exit_code, 0) << a;
  ASSERT_EQ(b.exit_code, 0) << b;
  EXPECT_EQ(parse_jsonl(a.out).size(), 3u);
  EXPECT_EQ(a.out, b.out);
}

// The issue: `/dev/zero` was read for 1.2 GB and then "the input is empty".
TEST_F(CliIo, EndlessLineFailsAtOnce) {
  for (const std::string command : {"embed", "classify", "tokenize"})
    expect_clean_failure(run_cli(args_for(command, "/dev/zero")),
                         {"/dev/zero:1: line longer than 1048576 bytes"});
}

TEST_F(CliIo, OverlongLineNamesItsLine) {
  const fs::path input = write_file("long.txt", "short\n" + std::string((1 << 20) + 1, 'a') + "\nshort\n");
  const CliResult failed = run_cli(args_for("tokenize", input));
  EXPECT_EQ(failed.exit_code, 1) << failed;
  EXPECT_TRUE(contains(failed.err, input.string() + ":2: line longer than 1048576 bytes")) << failed;
  EXPECT_EQ(parse_jsonl(failed.out).size(), 1u) << "the line before it streamed out";
  const fs::path fits = write_file("fits.txt", "short\n" + std::string(1 << 20, 'a') + "\n");
  const CliResult r =
      run_cli({"tokenize", "-m", embed_model().string(), "-i", fits.string(), "--max-length", "8"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(parse_jsonl(r.out).size(), 2u);
}

TEST_F(CliIo, EmptyInputIsReported) {
  for (const std::string command : {"embed", "classify", "tokenize"}) {
    expect_clean_failure(run_cli(args_for(command, write_file("empty.txt", ""))), {"the input is empty"});
    std::vector<std::string> args = args_for(command, "");
    args.resize(3);  // no --input: standard input, here /dev/null
    expect_clean_failure(run_cli(args), {"<stdin>: no input lines (the input is empty)"});
  }
}

// quantpipe with its standard input and output on pipes this test holds, so
// it can see results arrive while the input is still open.
class PipedCli {
 public:
  explicit PipedCli(const std::vector<std::string>& args) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) ADD_FAILURE() << std::strerror(errno);
    err_path_ = capture_.path() / "stderr";
    std::vector<std::string> storage = {test::quantpipe_binary().string()};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : storage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (const int error = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ); error != 0) {
      ADD_FAILURE() << "cannot start quantpipe: " << std::strerror(error);
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    input_ = in[1];
    output_ = out[0];
  }
  ~PipedCli() {
    close_input();
    if (output_ >= 0) ::close(output_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  void write(const std::string& text) {
    ASSERT_EQ(::write(input_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  void close_input() {
    if (input_ >= 0) ::close(input_);
    input_ = -1;
  }
  // The next line of output; nullopt when none came within `guard_ms` (a
  // guard against hanging the suite, generous for a loaded machine).
  std::optional<std::string> read_line(int guard_ms) {
    std::string line;
    for (;;) {
      pollfd fd{output_, POLLIN, 0};
      if (::poll(&fd, 1, guard_ms) <= 0) return std::nullopt;
      char c;
      if (::read(output_, &c, 1) != 1) return std::nullopt;
      if (c == '\n') return line;
      line += c;
    }
  }
  std::string rest_of_output() {
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::read(output_, buffer, sizeof buffer)) > 0;)
      text.append(buffer, static_cast<size_t>(n));
    return text;
  }
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string err() const { return test::read_bytes(err_path_); }

 private:
  test::TempDir capture_;
  fs::path err_path_;
  pid_t pid_ = -1;
  int input_ = -1, output_ = -1;
};

// The issue: 100k lines were all read (226 MB) before the first result was
// written. Now each batch's results come out while the input is still open.
TEST_F(CliIo, ResultsAreWrittenBeforeTheInputEnds) {
  const std::vector<std::string> lines = split_lines(kJsonl);
  const CliResult whole = run_cli(args_for("classify", write_file("in.jsonl", kJsonl)));
  ASSERT_EQ(whole.exit_code, 0) << whole;
  const std::vector<std::string> expected = split_lines(whole.out);
  ASSERT_EQ(expected.size(), lines.size());

  for (const std::string command : {"classify", "tokenize"}) {
    SCOPED_TRACE(command);
    std::vector<std::string> args = args_for(command, "");
    args.resize(3);  // standard input
    if (command == "classify") args.insert(args.end(), {"--batch-size", "1"});
    PipedCli cli(args);
    std::vector<std::string> got;
    for (size_t i = 0; i + 1 < lines.size(); ++i) {
      cli.write(lines[i] + "\n");
      const std::optional<std::string> result = cli.read_line(120000);
      ASSERT_TRUE(result.has_value()) << "no result for line " << i + 1 << " while the input is open\n"
                                      << cli.err();
      got.push_back(*result);
    }
    cli.write(lines.back() + "\n");
    cli.close_input();
    for (const std::string& line : split_lines(cli.rest_of_output())) got.push_back(line);
    EXPECT_EQ(cli.wait(), 0) << cli.err();
    if (command == "classify") {
      EXPECT_EQ(got, expected) << "the same results, in input order";
    }
    EXPECT_EQ(got.size(), lines.size());
  }
}

}  // namespace
}  // namespace qp
