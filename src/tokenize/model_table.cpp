// make_model(): tokenizer.json's model.type → the model's builder.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenize/bpe.h"
#include "tokenize/model.h"
#include "tokenize/unigram.h"
#include "tokenize/wordpiece.h"

namespace qp::tok {

std::unique_ptr<Model> make_word_level(const JsonFields& spec, Vocab* read_ahead);

namespace {

struct ModelKind {
  const char* type;
  std::unique_ptr<Model> (*make)(const JsonFields&, Vocab* read_ahead);
};
constexpr ModelKind kModels[] = {{"WordPiece", make_wordpiece},
                                 {"BPE", make_bpe},
                                 {"Unigram", make_unigram},
                                 {"WordLevel", make_word_level}};

// Files written before "type" existed: the keys tell the model apart.
std::string guess_type(const JsonFields& spec) {
  if (spec.has("merges")) return "BPE";
  if (spec.has("continuing_subword_prefix") || spec.has("max_input_chars_per_word")) return "WordPiece";
  if (const nlohmann::json* vocab = spec.find("vocab"); vocab && vocab->is_array()) return "Unigram";
  return "";
}

}  // namespace

std::unique_ptr<Model> make_model(const JsonFields& spec, Vocab* read_ahead) {
  const std::string type = spec.string_or("type", guess_type(spec));
  const auto* kind = std::find_if(std::begin(kModels), std::end(kModels),
                                  [&](const ModelKind& k) { return type == k.type; });
  if (kind == std::end(kModels))
    spec.error("type", "is ", json_excerpt(type),
               ", an unsupported model (supported: WordPiece, BPE, Unigram, WordLevel)");
  return kind->make(spec, read_ahead);
}

}  // namespace qp::tok
