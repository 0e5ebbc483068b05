// The tests' fake hub (tests/unit/fake_hub.h) as a program, for checks run by
// other tools: serves each DIR as repo REPO on 127.0.0.1, prints the endpoint
// on one line, and stops when its standard input closes.
//
//   fake_hub_server REPO DIR [REPO DIR ...]
//   fake_hub_server --write-tiny-st DIR    (a tiny sentence-transformers BERT
//                                           with its tokenizer, to serve)
#include <iostream>
#include <string>

#include "core/error.h"
#include "fake_hub.h"
#include "models/tiny_model.h"

int main(int argc, char** argv) try {
  if (argc == 3 && std::string(argv[1]) == "--write-tiny-st") {
    qp::write_tiny_bert(argv[2], {.sentence_transformer = true});
    return 0;
  }
  if (argc < 3 || argc % 2 == 0) {
    std::cerr << "usage: fake_hub_server REPO DIR [REPO DIR ...] | --write-tiny-st DIR\n";
    return 2;
  }
  qp::test::FakeHub hub;
  for (int i = 1; i + 1 < argc; i += 2) hub.add_repo_from_dir(argv[i], argv[i + 1]);
  std::cout << hub.endpoint() << std::endl;
  for (std::string line; std::getline(std::cin, line);) {
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "fake_hub_server: " << e.what() << "\n";
  return 1;
}
