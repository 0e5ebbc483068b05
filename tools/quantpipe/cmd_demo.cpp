// quantpipe demo: the built-in default job. Embeds example sentences and
// prints their cosine similarities, and classifies a few sentences and pairs,
// with the real models in ../shared when present, else with a tiny model that
// quantpipe generates itself (random weights: the flow, not the quality).
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <iostream>

#include "command.h"
#include "core/error.h"
#include "core/log.h"
#include "eval/metrics.h"
#include "example_texts.h"
#include "io/tiny_model.h"
#include "run_options.h"
#include "shared_dir.h"

namespace qp::cli {
namespace {

void show_embeddings(const std::filesystem::path& dir, int threads) {
  const Model model = Model::load(dir, {threads});
  const std::vector<TextInput> texts = {{"A man is playing a guitar.", {}},
                                        {"Someone plays an instrument.", {}},
                                        {"A woman is slicing an onion.", {}},
                                        {"The stock market fell sharply today.", {}}};
  const auto vectors = model.embed(texts);
  std::cout << "\n## embed: " << dir.filename().string() << " (" << vectors[0].size() << " dims)\n\n";
  std::cout << std::fixed << std::setprecision(3);
  for (size_t i = 0; i < texts.size(); ++i) {
    std::cout << "  [" << i << "] " << std::left << std::setw(40) << texts[i].text << std::right;
    for (size_t j = 0; j < texts.size(); ++j)
      std::cout << "  " << std::setw(6) << cosine_similarity(vectors[i], vectors[j]);
    std::cout << "\n";
  }
}

void show_classification(const std::filesystem::path& dir, const std::vector<TextInput>& inputs,
                         int threads) {
  const Model model = Model::load(dir, {threads});
  std::cout << "\n## classify: " << dir.filename().string() << "\n\n";
  const auto results = model.classify(inputs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::cout << "  " << std::left << std::setw(14) << results[i].label << std::right << " p=" << std::fixed
              << std::setprecision(3) << results[i].scores[results[i].label_index] << "  " << inputs[i].text;
    if (inputs[i].text_pair) std::cout << "  ||  " << *inputs[i].text_pair;
    std::cout << "\n";
  }
}

}  // namespace

Action configure_demo(CLI::App& app) {
  auto threads = std::make_shared<int>(0);
  app.add_option("-t,--threads", *threads, "Worker threads (default: all cores)");
  return [threads] {
    if (auto shared = find_shared_dir()) {
      std::cout << "# quantpipe demo with the models in " << shared->string() << "\n";
      show_embeddings(*shared / "models/minilm-l6-sts", *threads);
      show_classification(*shared / "models/minilm-l6-genre",
                          {{"Two dogs run across a grassy field.", {}},
                           {"A gripping, beautifully acted thriller.", {}},
                           {"The river flows through three countries before reaching the sea.", {}},
                           {"Well, I guess we could try calling them again tomorrow.", {}}},
                          *threads);
      show_classification(*shared / "models/minilm-l6-nli",
                          {{"A soccer game with multiple males playing.", "Some men are playing a sport."},
                           {"A man inspects a uniform.", "The man is sleeping."}},
                          *threads);
      return 0;
    }
    // A fresh directory per run, so concurrent demos never share files.
    std::string pattern = (std::filesystem::temp_directory_path() / "quantpipe-demo-XXXXXX").string();
    if (!mkdtemp(pattern.data())) fail(pattern, ": cannot create a temporary directory");
    const std::filesystem::path root = pattern;
    std::cout << "# quantpipe demo: ../shared not found, using tiny generated models in " << root.string()
              << " (random weights: this shows the flow, not quality)\n";
    TinyBertSpec embedder;
    embedder.sentence_transformer = true;
    write_tiny_bert(root / "tiny-embedder", embedder);
    TinyBertSpec classifier;
    classifier.num_labels = 3;
    write_tiny_bert(root / "tiny-classifier", classifier);
    show_embeddings(root / "tiny-embedder", *threads);
    show_classification(root / "tiny-classifier",
                        {{example_sentences()[0], {}}, {example_sentences()[3], {}}}, *threads);
    return 0;
  };
}

}  // namespace qp::cli
