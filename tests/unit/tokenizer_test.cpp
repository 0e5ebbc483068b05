// Tokenizer tests. The golden ids come from the Hugging Face tokenizers library
// (tests/oracles/make_tokenizer_golden.js); the texts are re-read from ../shared.
#include "quantpipe/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/error.h"
#include "test_paths.h"

namespace qp {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

fs::path golden_dir() { return test::source_dir() / "tests" / "golden" / "tokenizer"; }

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!s.empty() && s.back() == sep) parts.emplace_back();
  return parts;
}

// The text (and pair) a golden line refers to: "<file>#<fields>" and a 1-based line;
// fields are JSON keys or 1-based TSV columns joined by '+'.
class SourceTexts {
 public:
  std::pair<std::string, std::optional<std::string>> get(const std::string& source, size_t line) {
    const auto hash = source.find('#');
    const std::string file = source.substr(0, hash);
    const std::vector<std::string> fields = split(source.substr(hash + 1), '+');
    auto& lines = files_[file];
    if (lines.empty()) {
      const fs::path path =
          file.find('/') == std::string::npos ? golden_dir() / file : test::shared_dir() / file;
      lines = read_lines(path);
    }
    if (line == 0 || line > lines.size()) throw Error(cat(source, ": no line ", line));
    const std::string& row = lines[line - 1];
    std::vector<std::optional<std::string>> values;
    if (file.ends_with(".tsv")) {
      const auto cols = split(row, '\t');
      for (const auto& f : fields) values.emplace_back(cols.at(std::stoul(f) - 1));
    } else {
      const json obj = json::parse(row);
      for (const auto& f : fields) {
        const auto it = obj.find(f);
        if (it == obj.end() || it->is_null())
          values.emplace_back(std::nullopt);
        else
          values.emplace_back(it->get<std::string>());
      }
    }
    return {values.at(0).value(), values.size() > 1 ? values[1] : std::nullopt};
  }

 private:
  std::map<std::string, std::vector<std::string>> files_;
};

std::string show(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += std::to_string(id) + " ";
  return s;
}

// Compares every line of golden/<name>.jsonl with our encoding; returns lines compared.
size_t compare_golden(const std::string& name, const Tokenizer& tokenizer) {
  SourceTexts texts;
  size_t compared = 0;
  size_t mismatches = 0;
  for (const std::string& line : read_lines(golden_dir() / (name + ".jsonl"))) {
    const json g = json::parse(line);
    const auto [a, b] = texts.get(g.at("source"), g.at("line"));
    const Encoding e = b ? tokenizer.encode(a, std::string_view(*b)) : tokenizer.encode(a);
    const auto ids = g.at("input_ids").get<std::vector<int32_t>>();
    const auto types = g.at("token_type_ids").get<std::vector<int32_t>>();
    ++compared;
    if (e.input_ids != ids || e.token_type_ids != types) {
      if (++mismatches <= 10)
        ADD_FAILURE() << name << ": " << g.at("source") << " line " << g.at("line") << "\n  text: " << a
                      << (b ? "\n  pair: " + *b : "") << "\n  want: " << show(ids)
                      << "\n  got:  " << show(e.input_ids) << "\n  want types: " << show(types)
                      << "\n  got types:  " << show(e.token_type_ids);
    }
    EXPECT_EQ(e.attention_mask.size(), e.input_ids.size());
  }
  EXPECT_EQ(mismatches, 0u) << name << ": " << mismatches << " of " << compared << " lines differ";
  std::cout << "[ golden   ] " << name << ": " << compared << " lines compared, " << mismatches
            << " mismatches\n";
  return compared;
}

size_t compare_golden(const std::string& name, const fs::path& tokenizer_json) {
  return compare_golden(name, Tokenizer::from_tokenizer_json(tokenizer_json));
}

// The genre tokenizer with BertNormalizer fields replaced, as make_tokenizer_golden.js does.
size_t compare_golden_variant(const std::string& name, const json& normalizer_fields) {
  std::ifstream in(test::shared_dir() / "models/minilm-l6-genre/tokenizer.json");
  json doc = json::parse(in);
  doc.at("normalizer").update(normalizer_fields);
  test::TempDir tmp;
  std::ofstream(tmp.path() / "tokenizer.json") << doc.dump();
  return compare_golden(name, Tokenizer::from_tokenizer_json(tmp.path() / "tokenizer.json"));
}

TEST(TokenizerGolden, MiniLmGenreEverySharedText) {
  QP_REQUIRE_SHARED("models/minilm-l6-genre/tokenizer.json");
  QP_REQUIRE_SHARED("data");
  EXPECT_GT(compare_golden("minilm-l6-genre", test::shared_dir() / "models/minilm-l6-genre/tokenizer.json"),
            8000u);
}

TEST(TokenizerGolden, AllMiniLmL6V2Sample) {
  QP_REQUIRE_SHARED("tokenizers/all-MiniLM-L6-v2/tokenizer.json");
  QP_REQUIRE_SHARED("data");
  EXPECT_GT(
      compare_golden("all-MiniLM-L6-v2", test::shared_dir() / "tokenizers/all-MiniLM-L6-v2/tokenizer.json"),
      150u);
}

TEST(TokenizerGolden, MpnetSample) {
  QP_REQUIRE_SHARED("tokenizers/all-mpnet-base-v2/tokenizer.json");
  QP_REQUIRE_SHARED("data");
  EXPECT_GT(
      compare_golden("all-mpnet-base-v2", test::shared_dir() / "tokenizers/all-mpnet-base-v2/tokenizer.json"),
      600u);
}

TEST(TokenizerGolden, KeepAccentsVariant) {
  QP_REQUIRE_SHARED("models/minilm-l6-genre/tokenizer.json");
  QP_REQUIRE_SHARED("data");
  EXPECT_GT(compare_golden_variant("minilm-l6-genre-keep-accents", {{"strip_accents", false}}), 150u);
}

TEST(TokenizerGolden, CasedVariant) {
  QP_REQUIRE_SHARED("models/minilm-l6-genre/tokenizer.json");
  QP_REQUIRE_SHARED("data");
  const json fields = {{"lowercase", false}, {"strip_accents", false}, {"handle_chinese_chars", false}};
  EXPECT_GT(compare_golden_variant("minilm-l6-genre-cased", fields), 150u);
}

class TokenizerMiniLm : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(dir() / "tokenizer.json")) GTEST_SKIP() << dir() << " is absent: skipping";
    tokenizer_.emplace(Tokenizer::from_dir(dir()));
  }
  static fs::path dir() { return test::shared_dir() / "models/minilm-l6-genre"; }
  std::vector<int32_t> ids(std::string_view text) const { return tokenizer_->encode(text).input_ids; }
  std::optional<Tokenizer> tokenizer_;
};

TEST_F(TokenizerMiniLm, BasicProperties) {
  EXPECT_EQ(tokenizer_->vocab_size(), 30522u);
  EXPECT_EQ(tokenizer_->default_max_length(), 128);
  EXPECT_EQ(tokenizer_->pad_token_id(), 0);
  EXPECT_EQ(tokenizer_->token_to_id("[CLS]"), 101);
  EXPECT_EQ(tokenizer_->token_to_id("no-such-token"), -1);
}

TEST_F(TokenizerMiniLm, TrickyTexts) {
  // Accents stripped, lowercased: the same ids as the plain ASCII spelling.
  EXPECT_EQ(ids("Café Ñandú"), ids("cafe nandu"));
  EXPECT_EQ(ids("İstanbul"), ids("istanbul"));
  // CJK characters become one word each.
  EXPECT_EQ(ids("我爱北京"), ids("我 爱 北 京"));
  // Whitespace runs, tabs and newlines are all one separator; control characters vanish.
  EXPECT_EQ(ids("a  \t\n b"), ids("a b"));
  EXPECT_EQ(ids("ab\x07"
                "c"),
            ids("abc"));
  // A literal special token is matched as such, case-sensitively.
  EXPECT_EQ(ids("the [MASK] cat"), (std::vector<int32_t>{101, 1996, 103, 4937, 102}));
  EXPECT_NE(ids("the [mask] cat")[2], 103);
  // A word longer than max_input_chars_per_word (100) is one [UNK].
  EXPECT_EQ(ids(std::string(101, 'a')), (std::vector<int32_t>{101, 100, 102}));
  EXPECT_EQ(ids(""), (std::vector<int32_t>{101, 102}));
}

TEST_F(TokenizerMiniLm, InvalidUtf8Throws) {
  const std::pair<std::string, int> cases[] = {{"abc\xff", 3},  {"ab\xe2\x82", 2},
                                               {"\xc0\xaf", 0}, {"x\xed\xa0\x80", 1},
                                               {"ok \x80", 3},  {"\xf4\x90\x80\x80", 0}};
  for (const auto& [text, at] : cases) {
    try {
      tokenizer_->encode(text);
      ADD_FAILURE() << "no error for byte " << at;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(cat("not valid UTF-8 at byte ", at)), std::string::npos)
          << e.what();
    }
  }
  EXPECT_THROW(tokenizer_->encode("fine", std::string_view("bad\xff")), Error);
}

TEST_F(TokenizerMiniLm, TruncationPairLongestFirst) {
  const std::string ten = "a a a a a a a a a a";
  const std::string three = "b b b";
  auto count_types = [](const Encoding& e, int type) {
    return std::count(e.token_type_ids.begin(), e.token_type_ids.end(), type);
  };
  // The short side stays whole; the long side gets what is left (10 - 3 specials - 3).
  Encoding e = tokenizer_->encode(ten, std::string_view(three), 10);
  EXPECT_EQ(e.input_ids.size(), 10u);
  EXPECT_EQ(count_types(e, 0), 1 + 4 + 1);
  EXPECT_EQ(count_types(e, 1), 3 + 1);
  // Both long: split evenly, the odd token to the longer (first) sequence.
  const std::string twelve = ten + " a a";
  e = tokenizer_->encode(twelve, std::string_view(ten), 12);
  EXPECT_EQ(count_types(e, 0), 1 + 5 + 1);
  EXPECT_EQ(count_types(e, 1), 4 + 1);
  e = tokenizer_->encode(ten, std::string_view(twelve), 12);
  EXPECT_EQ(count_types(e, 0), 1 + 4 + 1);
  EXPECT_EQ(count_types(e, 1), 5 + 1);
  // No max_length: the file's 128.
  std::string long_text;
  for (int i = 0; i < 300; ++i) long_text += "word ";
  e = tokenizer_->encode(long_text);
  EXPECT_EQ(e.input_ids.size(), 128u);
  EXPECT_EQ(e.input_ids.back(), 102);
  e = tokenizer_->encode(long_text, std::string_view(long_text));
  EXPECT_EQ(e.input_ids.size(), 128u);
  EXPECT_EQ(count_types(e, 0), 1 + 62 + 1);
  EXPECT_THROW(tokenizer_->encode("x", std::string_view("y"), 2), Error);
}

TEST_F(TokenizerMiniLm, PadToLongest) {
  std::vector<Encoding> batch = {
      tokenizer_->encode("a short one"),
      tokenizer_->encode("and a somewhat longer text", std::string_view("with a pair")),
      tokenizer_->encode("")};
  const Encoding longest = batch[1];
  pad_to_longest(batch, tokenizer_->pad_token_id());
  for (const auto& e : batch) {
    EXPECT_EQ(e.input_ids.size(), longest.input_ids.size());
    EXPECT_EQ(e.token_type_ids.size(), longest.input_ids.size());
    EXPECT_EQ(e.attention_mask.size(), longest.input_ids.size());
  }
  EXPECT_EQ(batch[1].input_ids, longest.input_ids);
  EXPECT_EQ(batch[1].token_type_ids, longest.token_type_ids);
  EXPECT_EQ(batch[2].input_ids[0], 101);
  EXPECT_EQ(batch[2].input_ids[1], 102);
  EXPECT_EQ(batch[2].input_ids[2], 0);
  std::vector<int32_t> mask(longest.input_ids.size(), 0);
  mask[0] = mask[1] = 1;
  EXPECT_EQ(batch[2].attention_mask, mask);
  std::vector<Encoding> empty;
  pad_to_longest(empty, 0);
  EXPECT_TRUE(empty.empty());
}

// vocab.txt + tokenizer_config.json must give what tokenizer.json gives.
void expect_fallback_matches(const fs::path& model_dir, int max_length) {
  test::TempDir tmp;
  fs::copy_file(model_dir / "vocab.txt", tmp.path() / "vocab.txt");
  fs::copy_file(model_dir / "tokenizer_config.json", tmp.path() / "tokenizer_config.json");
  const Tokenizer from_vocab = Tokenizer::from_dir(tmp.path());
  const Tokenizer from_json = Tokenizer::from_tokenizer_json(model_dir / "tokenizer.json");
  EXPECT_EQ(from_vocab.vocab_size(), from_json.vocab_size());
  EXPECT_EQ(from_vocab.pad_token_id(), from_json.pad_token_id());
  size_t compared = 0;
  const auto genre = read_lines(test::shared_dir() / "data/genre/dev_a.jsonl");
  for (size_t i = 0; i < genre.size(); i += 5, ++compared) {
    const std::string text = json::parse(genre[i]).at("text");
    const Encoding a = from_vocab.encode(text, std::nullopt, max_length);
    const Encoding b = from_json.encode(text, std::nullopt, max_length);
    EXPECT_EQ(a.input_ids, b.input_ids) << text;
  }
  const auto mnli = read_lines(test::shared_dir() / "data/mnli/dev_a.jsonl");
  for (size_t i = 0; i < mnli.size(); i += 10, ++compared) {
    const json row = json::parse(mnli[i]);
    const std::string p = row.at("premise"), h = row.at("hypothesis");
    const Encoding a = from_vocab.encode(p, std::string_view(h), max_length);
    const Encoding b = from_json.encode(p, std::string_view(h), max_length);
    EXPECT_EQ(a.input_ids, b.input_ids) << p << " / " << h;
    EXPECT_EQ(a.token_type_ids, b.token_type_ids) << p << " / " << h;
  }
  for (const char* tricky :
       {"Café [MASK] 我爱北京 İstanbul", "x\ty\u00a0z ß ΑΘΗΝΑ", "[CLS] [SEP] [PAD] <s> </s>"}) {
    EXPECT_EQ(from_vocab.encode(tricky, std::nullopt, max_length).input_ids,
              from_json.encode(tricky, std::nullopt, max_length).input_ids)
        << tricky;
  }
  EXPECT_GT(compared, 700u);
}

TEST(TokenizerFallback, VocabTxtMatchesTokenizerJson) {
  QP_REQUIRE_SHARED("models/minilm-l6-genre/vocab.txt");
  QP_REQUIRE_SHARED("data");
  const fs::path dir = test::shared_dir() / "models/minilm-l6-genre";
  expect_fallback_matches(dir, 0);  // tokenizer_config.json's max_length (128) vs tokenizer.json's
  test::TempDir tmp;
  fs::copy_file(dir / "vocab.txt", tmp.path() / "vocab.txt");
  fs::copy_file(dir / "tokenizer_config.json", tmp.path() / "tokenizer_config.json");
  EXPECT_EQ(Tokenizer::from_dir(tmp.path()).default_max_length(), 128);
}

TEST(TokenizerFallback, MpnetVocabTxtMatchesTokenizerJson) {
  QP_REQUIRE_SHARED("tokenizers/all-mpnet-base-v2/vocab.txt");
  QP_REQUIRE_SHARED("data");
  expect_fallback_matches(test::shared_dir() / "tokenizers/all-mpnet-base-v2", 128);
}

// Many added tokens (some tokenizer.json files list tens of thousands): each
// new content gets the next id after the vocabulary, a repeated content the id
// of its first entry, as Hugging Face assigns them; loading stays linear (the
// lookup of earlier tokens was a scan per token, 4 s for 30 000).
TEST(TokenizerAddedTokens, ManyAddedTokensGetHuggingFacesIds) {
  json doc = {{"version", "1.0"},
              {"normalizer", nullptr},
              {"pre_tokenizer", {{"type", "Whitespace"}}},
              {"post_processor", nullptr},
              {"decoder", nullptr},
              {"model",
               {{"type", "WordPiece"},
                {"unk_token", "[UNK]"},
                {"continuing_subword_prefix", "##"},
                {"max_input_chars_per_word", 100},
                {"vocab", {{"[UNK]", 0}, {"hello", 1}, {"world", 2}}}}}};
  constexpr int kCount = 30000;
  json added = json::array();
  for (int i = 0; i < kCount; ++i)
    added.push_back({{"id", 3 + i}, {"content", "<t" + std::to_string(i) + ">"}, {"special", true}});
  added.push_back({{"id", 3 + kCount}, {"content", "<t17>"}, {"special", true}});  // a repeat
  added.push_back({{"id", 4 + kCount}, {"content", "world"}, {"special", true}});  // in the vocabulary
  doc["added_tokens"] = added;
  test::TempDir tmp;
  std::ofstream(tmp.path() / "tokenizer.json") << doc.dump();
  const Tokenizer tokenizer = Tokenizer::from_tokenizer_json(tmp.path() / "tokenizer.json");
  EXPECT_EQ(tokenizer.encode("hello <t29999> <t17> world <t0>").input_ids,
            (std::vector<int32_t>{1, 3 + 29999, 3 + 17, 2, 3}));
  EXPECT_EQ(tokenizer.token_to_id("<t12345>"), 3 + 12345);
  EXPECT_EQ(tokenizer.max_token_id(), 3 + kCount - 1);
}

TEST(TokenizerReference, ProbesOfSharedModels) {
  QP_REQUIRE_SHARED("models");
  size_t probes = 0;
  for (const auto& entry : fs::directory_iterator(test::shared_dir() / "models")) {
    const fs::path ref = entry.path() / "reference_outputs.json";
    if (!fs::exists(ref)) continue;
    const Tokenizer tokenizer = Tokenizer::from_dir(entry.path());
    std::ifstream in(ref);
    const json doc = json::parse(in);
    const int max_length = doc.value("max_length", 0);
    for (const auto& probe : doc.at("probes")) {
      if (!probe.contains("input_ids")) continue;
      const Encoding e =
          probe.contains("premise")
              ? tokenizer.encode(probe.at("premise").get<std::string>(),
                                 std::string_view(probe.at("hypothesis").get_ref<const std::string&>()),
                                 max_length)
              : tokenizer.encode(probe.at("text").get<std::string>(), std::nullopt, max_length);
      const std::string what = probe.value("text", probe.value("premise", std::string()));
      EXPECT_EQ(e.input_ids, probe.at("input_ids").get<std::vector<int32_t>>()) << ref << ": " << what;
      if (probe.contains("token_type_ids")) {
        EXPECT_EQ(e.token_type_ids, probe.at("token_type_ids").get<std::vector<int32_t>>())
            << ref << ": " << what;
      }
      ++probes;
    }
  }
  EXPECT_GT(probes, 0u);
  std::cout << "[ probes   ] " << probes << " reference probes compared\n";
}

void write_file(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TokenizerErrors, NameTheFileAndTheProblem) {
  test::TempDir tmp;
  const fs::path missing = tmp.path() / "nope" / "tokenizer.json";
  EXPECT_NE(error_of([&] { Tokenizer::from_tokenizer_json(missing); }).find(missing.string()),
            std::string::npos);
  EXPECT_NE(error_of([&] { Tokenizer::from_dir(tmp.path()); })
                .find("neither tokenizer.json nor vocab.txt, vocab.json + merges.txt, spm.model or "
                      "sentencepiece.bpe.model"),
            std::string::npos);

  const fs::path broken = tmp.path() / "tokenizer.json";
  write_file(broken, "{\"model\": {\"type\": \"WordPiece\", ");
  std::string msg = error_of([&] { Tokenizer::from_tokenizer_json(broken); });
  EXPECT_NE(msg.find(broken.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("parse"), std::string::npos) << msg;

  const std::string vocab = R"("vocab": {"[UNK]": 0, "a": 1})";
  write_file(broken, R"({"model": {"type": "CharLevel", )" + vocab + "}}");
  msg = error_of([&] { Tokenizer::from_tokenizer_json(broken); });
  EXPECT_NE(msg.find("key 'model.type' is \"CharLevel\", an unsupported model"), std::string::npos) << msg;

  write_file(broken,
             R"({"normalizer": {"type": "Unidecode"}, "model": {"type": "WordPiece", )" + vocab + "}}");
  msg = error_of([&] { Tokenizer::from_tokenizer_json(broken); });
  EXPECT_NE(msg.find("key 'normalizer.type' is \"Unidecode\", an unsupported normalizer"), std::string::npos)
      << msg;

  write_file(broken, R"({"pre_tokenizer": {"type": "UnicodeScripts"}, "model": {"type": "WordPiece", )" +
                         vocab + "}}");
  msg = error_of([&] { Tokenizer::from_tokenizer_json(broken); });
  EXPECT_NE(msg.find("key 'pre_tokenizer.type' is \"UnicodeScripts\", an unsupported pre-tokenizer"),
            std::string::npos)
      << msg;

  write_file(broken, R"({"model": {"type": "WordPiece", "unk_token": "<unk>", )" + vocab + "}}");
  msg = error_of([&] { Tokenizer::from_tokenizer_json(broken); });
  EXPECT_NE(msg.find("'<unk>' is not in the vocabulary"), std::string::npos) << msg;

  // A minimal valid file: no normalizer, pre-tokenizer or post-processor.
  write_file(broken, R"({"model": {"type": "WordPiece", )" + vocab + "}}");
  const Tokenizer t = Tokenizer::from_tokenizer_json(broken);
  EXPECT_EQ(t.encode("a", std::string_view("aa")).input_ids, (std::vector<int32_t>{1, 0}));
  EXPECT_EQ(t.encode("a", std::string_view("aa")).token_type_ids, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(t.default_max_length(), std::nullopt);
}

}  // namespace
}  // namespace qp
