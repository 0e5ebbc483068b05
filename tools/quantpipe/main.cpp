// quantpipe command-line entry point: builds the subcommands from the table in
// command.h, parses, runs, and turns any qp::Error into one clear line on
// stderr and a non-zero exit (2 for a usage error). Standard output is checked to the last byte
// (checked_output.h): results that could not be written are an error.
#include <csignal>
#include <iostream>
#include <map>

#include "checked_output.h"
#include "command.h"
#include "core/build_info.h"
#include "core/cpu_isa.h"
#include "core/error.h"
#include "core/log.h"
#include "quantpipe/heap_tuning.h"

namespace {

constexpr int kUsageError = 2;

std::string version_text() {
  return qp::cat("quantpipe ", qp::kVersion, " (commit ", qp::kGitCommit, ", ISA path ",
                 qp::isa_name(qp::active_isa()), ", detected ", qp::isa_name(qp::detected_isa()), ")");
}

int run(int argc, char** argv) {
  CLI::App app{"quantpipe: quantize Hugging Face encoders, run them on a fast CPU engine, and measure them"};
  app.require_subcommand(0, 1);
  bool show_version = false, verbose = false, quiet = false;
  app.add_flag("--version", show_version, "Print version, git commit and the ISA path in use");
  app.add_flag("-v,--verbose", verbose, "Log debug messages to stderr");
  app.add_flag("-q,--quiet", quiet, "Log only errors");
  // Options of the top level are accepted after the subcommand too:
  // `quantpipe embed -q --model …` as well as `quantpipe -q embed …`.
  app.fallthrough();

  std::map<CLI::App*, qp::cli::Action> actions;
  for (const qp::cli::Command& command : qp::cli::command_table()) {
    CLI::App* sub = app.add_subcommand(command.name, command.help);
    actions[sub] = command.configure(*sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and friends exit 0; a usage error prints CLI11's message and
    // exits 2, as command-line tools do (not CLI11's own 105, 106, 109, ...).
    const int status = app.exit(e);
    return status == 0 ? 0 : kUsageError;
  }
  if (verbose) qp::set_log_level(qp::LogLevel::Debug);
  if (quiet) qp::set_log_level(qp::LogLevel::Error);
  if (show_version) {
    std::cout << version_text() << "\n";
    return 0;
  }
  for (const auto& [sub, action] : actions)
    if (sub->parsed()) return action();
  std::cout << app.help();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A full disk or a file-size limit must surface as a write error with a
  // message, not kill the process with SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  qp::retain_freed_memory();
  qp::cli::CheckedStdout out;
  try {
    const int status = run(argc, argv);
    out.close();
    return status;
  } catch (const qp::Error& e) {
    // Messages echo values cut short where they are made; this is the last
    // guard, so no input can make the one error line unreadably long.
    constexpr size_t kMaxMessage = 4096;
    std::string message = e.what();
    if (message.size() > kMaxMessage) message = message.substr(0, kMaxMessage) + "… (message cut)";
    std::cerr << "quantpipe: error: " << message << "\n";
  } catch (const std::exception& e) {
    std::cerr << "quantpipe: internal error: " << e.what() << "\n";
  }
  return 1;
}
