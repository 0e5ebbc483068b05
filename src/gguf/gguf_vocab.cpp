#include "gguf/gguf_vocab.h"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/json_read.h"
#include "tokenize/precompiled_charsmap.h"

namespace qp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using T = GgufTokenType;

const std::string kPhantomSpace = "\xe2\x96\x81";  // U+2581, llama.cpp's word-start mark

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path.string(), ": cannot read");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// tokenizer_config.json's "<kind>_token" (a string or {"content": ...}), else fallback.
std::string special_text(const json& config, const std::string& kind, const std::string& fallback) {
  const auto it = config.find(kind + "_token");
  if (it == config.end()) return fallback;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"];
  return fallback;
}

void set_specials(GgufVocab& v, const json& config, bool wordpiece) {
  std::map<std::string, int64_t> id_of;
  for (size_t i = 0; i < v.tokens.size(); ++i) id_of.emplace(v.tokens[i], static_cast<int64_t>(i));
  auto find = [&](const std::string& kind, const std::string& fallback) -> int64_t {
    const auto it = id_of.find(special_text(config, kind, fallback));
    return it == id_of.end() ? -1 : it->second;
  };
  // llama.cpp takes BOS as the CLS token and EOS as the SEP token of encoders.
  v.bos = find("cls", wordpiece ? "[CLS]" : "<s>");
  v.eos = find("sep", wordpiece ? "[SEP]" : "</s>");
  v.sep = v.eos;
  v.unk = find("unk", wordpiece ? "[UNK]" : "<unk>");
  v.pad = find("pad", wordpiece ? "[PAD]" : "<pad>");
  v.mask = find("mask", wordpiece ? "[MASK]" : "<mask>");
}

// Token ids of tokenizer.json's model vocabulary, as a dense list. An id must
// have its row in the word embeddings (`rows`): checked before the list grows.
void put_token(GgufVocab& v, int64_t id, std::string text, const fs::path& path, int64_t rows) {
  if (id < 0 || id >= rows)
    fail(path.string(), ": token id ", id, " has no row in the word embeddings (", rows,
         " rows): tokenizer and model do not belong together");
  if (static_cast<size_t>(id) >= v.tokens.size()) {
    v.tokens.resize(static_cast<size_t>(id) + 1);
    v.types.resize(static_cast<size_t>(id) + 1, 0);
  }
  v.tokens[static_cast<size_t>(id)] = std::move(text);
  v.types[static_cast<size_t>(id)] = static_cast<int32_t>(T::Normal);
}

void read_tokenizer_json(GgufVocab& v, const fs::path& path, int64_t rows) {
  v.huggingface_json = read_text(path);
  const json tj = parse_json(v.huggingface_json, path.string());
  const json& model = tj.at("model");
  // Older tokenizer.json files leave "type" out: BPE has merges, Unigram a list vocabulary.
  std::string type = model.value("type", "");
  if (type.empty())
    type = model.contains("merges")                               ? "BPE"
           : model.contains("vocab") && model["vocab"].is_array() ? "Unigram"
                                                                  : "WordPiece";
  if (type == "WordPiece") {
    v.model = "bert";
    for (const auto& [text, id] : model.at("vocab").items())
      put_token(v, id.get<int64_t>(), text, path, rows);
  } else if (type == "BPE") {
    v.model = "gpt2";
    v.pre = "roberta-bpe";
    for (const auto& [text, id] : model.at("vocab").items())
      put_token(v, id.get<int64_t>(), text, path, rows);
    for (const json& merge : model.at("merges")) {
      if (merge.is_string())
        v.merges.push_back(merge.get<std::string>());
      else
        v.merges.push_back(merge.at(0).get<std::string>() + " " + merge.at(1).get<std::string>());
    }
  } else if (type == "Unigram") {
    v.model = "t5";
    v.pre = "default";
    const json& vocab = model.at("vocab");
    for (size_t i = 0; i < vocab.size(); ++i) {
      put_token(v, static_cast<int64_t>(i), vocab[i].at(0).get<std::string>(), path, rows);
      v.scores.push_back(vocab[i].at(1).get<float>());
    }
    if (model.contains("unk_id") && model["unk_id"].is_number_integer()) {
      const auto unk = model["unk_id"].get<size_t>();
      if (unk < v.types.size()) v.types[unk] = static_cast<int32_t>(T::Unknown);
    }
    // The precompiled normalizer map, alone or inside a Sequence.
    std::vector<json> normalizers;
    if (tj.contains("normalizer") && tj["normalizer"].is_object()) {
      if (tj["normalizer"].value("type", "") == "Sequence")
        for (const json& n : tj["normalizer"].at("normalizers")) normalizers.push_back(n);
      else
        normalizers.push_back(tj["normalizer"]);
    }
    for (const json& n : normalizers)
      if (n.value("type", "") == "Precompiled" && n.contains("precompiled_charsmap") &&
          n["precompiled_charsmap"].is_string()) {
        const std::string bytes =
            tok::decode_base64(n["precompiled_charsmap"].get<std::string>(), path.string());
        v.charsmap.assign(bytes.begin(), bytes.end());
      }
  } else {
    fail(path.string(), ": tokenizer model \"", type,
         "\" has no llama.cpp counterpart (WordPiece, BPE, Unigram)");
  }
  if (tj.contains("added_tokens"))
    for (const json& added : tj["added_tokens"]) {
      const auto id = added.at("id").get<int64_t>();
      put_token(v, id, added.at("content").get<std::string>(), path, rows);
      const bool special = added.value("special", false);
      v.types[static_cast<size_t>(id)] = static_cast<int32_t>(special ? T::Control : T::UserDefined);
    }
}

void read_vocab_txt(GgufVocab& v, const fs::path& path) {
  std::ifstream in(path);
  if (!in) fail(path.string(), ": cannot read");
  v.model = "bert";
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    v.tokens.push_back(line);
    v.types.push_back(static_cast<int32_t>(T::Normal));
  }
  for (size_t i = 0; i < v.tokens.size(); ++i)
    for (const char* special : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"})
      if (v.tokens[i] == special) v.types[i] = static_cast<int32_t>(T::Control);
}

bool kept_as_written(GgufTokenType type) { return type == T::Control || type == T::Unused; }

}  // namespace

std::string wordpiece_to_gguf(const std::string& token, GgufTokenType type) {
  if (kept_as_written(type)) return token;
  return token.rfind("##", 0) == 0 ? token.substr(2) : kPhantomSpace + token;
}

std::string wordpiece_from_gguf(const std::string& token, GgufTokenType type) {
  if (kept_as_written(type)) return token;
  return token.rfind(kPhantomSpace, 0) == 0 ? token.substr(kPhantomSpace.size()) : "##" + token;
}

GgufVocab read_gguf_vocab(const fs::path& dir, int64_t rows) {
  GgufVocab v;
  fs::path source;
  if (fs::exists(dir / "tokenizer.json")) {
    source = dir / "tokenizer.json";
    read_tokenizer_json(v, source, rows);
  } else if (fs::exists(dir / "vocab.txt")) {
    source = dir / "vocab.txt";
    read_vocab_txt(v, source);
  } else {
    fail(dir.string(),
         ": no tokenizer.json or vocab.txt: a GGUF file carries its tokenizer, so one is needed");
  }
  if (static_cast<int64_t>(v.tokens.size()) > rows)
    fail(source.string(), ": ", v.tokens.size(), " tokens but the word embeddings have ", rows,
         " rows: tokenizer and model do not belong together");
  // Holes and rows past the tokenizer: unused placeholders, as llama.cpp's converter writes them.
  v.tokens.resize(static_cast<size_t>(rows));
  v.types.resize(static_cast<size_t>(rows), 0);
  for (size_t i = 0; i < v.tokens.size(); ++i)
    if (v.types[i] == 0) {
      v.tokens[i] = "[PAD" + std::to_string(i) + "]";
      v.types[i] = static_cast<int32_t>(T::Unused);
    }
  if (!v.scores.empty()) v.scores.resize(static_cast<size_t>(rows), -10000.0f);
  json config = json::object();
  if (fs::exists(dir / "tokenizer_config.json"))
    config = read_json_object_file(dir / "tokenizer_config.json");
  set_specials(v, config, v.model == "bert");
  if (v.model == "bert")  // llama.cpp's WPM looks words up as "▁word" and continuations bare
    for (size_t i = 0; i < v.tokens.size(); ++i)
      v.tokens[i] = wordpiece_to_gguf(v.tokens[i], static_cast<GgufTokenType>(v.types[i]));
  return v;
}

void write_gguf_vocab(GgufWriter& writer, const GgufVocab& v) {
  writer.set("tokenizer.ggml.model", GgufValue::string(v.model));
  if (!v.pre.empty()) writer.set("tokenizer.ggml.pre", GgufValue::string(v.pre));
  writer.set("tokenizer.ggml.tokens", GgufValue::strings(v.tokens));
  writer.set("tokenizer.ggml.token_type", GgufValue::i32s(v.types));
  if (!v.scores.empty()) writer.set("tokenizer.ggml.scores", GgufValue::f32s(v.scores));
  if (!v.merges.empty()) writer.set("tokenizer.ggml.merges", GgufValue::strings(v.merges));
  if (v.model == "t5") {
    writer.set("tokenizer.ggml.add_space_prefix", GgufValue::boolean(true));
    writer.set("tokenizer.ggml.remove_extra_whitespaces", GgufValue::boolean(true));
    if (!v.charsmap.empty()) {
      GgufValue map{GgufType::Array};
      map.element = GgufType::Uint8;
      for (uint8_t b : v.charsmap) map.items.push_back({GgufType::Uint8, b});
      writer.set("tokenizer.ggml.precompiled_charsmap", std::move(map));
    }
  }
  const std::pair<const char*, int64_t> ids[] = {
      {"tokenizer.ggml.bos_token_id", v.bos},
      {"tokenizer.ggml.eos_token_id", v.eos},
      {"tokenizer.ggml.unknown_token_id", v.unk},
      {"tokenizer.ggml.seperator_token_id", v.sep},  // sic, llama.cpp's key
      {"tokenizer.ggml.padding_token_id", v.pad},
      {"tokenizer.ggml.mask_token_id", v.mask}};
  for (const auto& [key, id] : ids)
    if (id >= 0) writer.set(key, GgufValue::u32(static_cast<uint32_t>(id)));
  // Encoders wrap every sequence in CLS … SEP (<s> … </s>).
  writer.set("tokenizer.ggml.add_bos_token", GgufValue::boolean(true));
  writer.set("tokenizer.ggml.add_eos_token", GgufValue::boolean(true));
  if (!v.huggingface_json.empty())
    writer.set("tokenizer.huggingface.json", GgufValue::string(v.huggingface_json));
}

}  // namespace qp
