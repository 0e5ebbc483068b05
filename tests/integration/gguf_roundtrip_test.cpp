// GGUF export and import end to end on tiny models made by code: llama.cpp's
// names and keys, codes carried over unchanged (quantpipe → GGUF → quantpipe
// gives the native directory's outputs exactly), the classification head as
// llama.cpp's RANK pooling, the type fallbacks, and what is refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cli_runner.h"
#include "core/error.h"
#include "gguf/gguf_export.h"
#include "gguf/gguf_import.h"
#include "io/gguf.h"
#include "models/tiny_model.h"
#include "quantpipe/model.h"
#include "scoped_env.h"
#include "test_paths.h"

namespace qp::test {
namespace {

namespace fs = std::filesystem;
using quant::GgmlType;

const std::vector<TextInput> kTexts = {
    {"the cat sat on the mat"}, {"a dog runs in the park"}, {"hello world"}, {"numbers 1 2 3 and words"}};

double max_abs_diff(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < a[i].size(); ++j) worst = std::max(worst, std::fabs(double{a[i][j]} - b[i][j]));
  return worst;
}

struct CarryCase {
  const char* name;
  std::vector<std::string> convert_args;
  std::set<GgmlType> carried_as;  // affine codes whose zero is an integer code also fit the symmetric block
};

class GgufCarry : public ::testing::TestWithParam<CarryCase> {};

TEST_P(GgufCarry, RoundTripGivesTheNativeOutputsExactly) {
  const CarryCase& c = GetParam();
  TempDir dir;
  const fs::path source = dir.path() / "src", native = dir.path() / "native", gguf = dir.path() / "m.gguf";
  write_tiny_bert(source,
                  {.hidden = 64, .layers = 2, .heads = 4, .intermediate = 128, .sentence_transformer = true});
  std::vector<std::string> args = {
      "convert",       "-q",       "-m",  source.string(), "-o",        native.string(),
      "--half-scales", "--method", "rtn", "--embedding",   "q8_sym_g32"};
  args.insert(args.end(), c.convert_args.begin(), c.convert_args.end());
  const CliResult converted = run_cli(args);
  ASSERT_EQ(converted.exit_code, 0) << converted;

  const GgufExportReport report = export_gguf(native, gguf);
  int carried = 0;
  for (const GgufExportedTensor& t : report.tensors)
    if (t.gguf_name.find("attn_q.weight") != std::string::npos ||
        t.gguf_name.find("ffn_down.weight") != std::string::npos) {
      EXPECT_EQ(t.origin, GgufTensorOrigin::Carried) << t.gguf_name;
      EXPECT_EQ(c.carried_as.count(t.type), 1u)
          << t.gguf_name << " is " << quant::ggml_type_info(t.type).name;
      ++carried;
    }
  EXPECT_EQ(carried, 4);
  EXPECT_EQ(report.pooling, "mean");

  const fs::path imported = dir.path() / "imported";
  const GgufImportReport back = import_gguf(gguf, imported, false);
  EXPECT_EQ(back.tokenizer,
            "vocab.txt rebuilt from tokenizer.ggml.tokens");  // the tiny model has no tokenizer.json
  const auto want = Model::load(native, {.threads = 1}).embed(kTexts);
  const auto got = Model::load(imported, {.threads = 1}).embed(kTexts);
  ASSERT_EQ(got.size(), want.size());
  EXPECT_LE(max_abs_diff(got, want), 1e-6) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Schemes, GgufCarry,
    ::testing::Values(
        CarryCase{"q8_sym_g32", {"--bits", "8", "--scheme", "sym", "--group-size", "32"}, {GgmlType::Q8_0}},
        CarryCase{"q4_affine_g64", {"--bits", "4"}, {GgmlType::Q4_0, GgmlType::Q4_1}},
        CarryCase{"q4_sym_g64", {"--bits", "4", "--scheme", "sym"}, {GgmlType::Q4_0}},
        CarryCase{"q5_affine_g32", {"--bits", "5", "--group-size", "32"}, {GgmlType::Q5_0, GgmlType::Q5_1}},
        CarryCase{"q2_affine_g64", {"--bits", "2"}, {GgmlType::Q4_0, GgmlType::Q4_1}},
        CarryCase{"ternary_g64", {"--bits", "ternary"}, {GgmlType::Q4_0}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(GgufExport, NamesKeysAndTokenizerAreLlamaCpps) {
  TempDir dir;
  const fs::path source = dir.path() / "src", gguf = dir.path() / "m.gguf";
  write_tiny_bert(source,
                  {.hidden = 64, .layers = 2, .heads = 4, .intermediate = 128, .sentence_transformer = true});
  const GgufExportReport report = export_gguf(source, gguf, {.type = GgmlType::Q8_0});
  const GgufFile file(gguf);
  EXPECT_EQ(file.string("general.architecture"), "bert");
  EXPECT_EQ(file.integer("bert.block_count"), 2);
  EXPECT_EQ(file.integer("bert.embedding_length"), 64);
  EXPECT_EQ(file.integer("bert.feed_forward_length"), 128);
  EXPECT_EQ(file.integer("bert.attention.head_count"), 4);
  EXPECT_EQ(file.integer("bert.context_length"), 64);
  EXPECT_EQ(file.require("bert.attention.causal").integer, 0);
  EXPECT_NEAR(file.number("bert.attention.layer_norm_epsilon"), 1e-12, 1e-15);
  EXPECT_EQ(file.integer("bert.pooling_type"), 1);  // mean
  EXPECT_EQ(file.integer("tokenizer.ggml.token_type_count"), 2);
  EXPECT_EQ(file.integer("general.file_type"), 7);  // LLAMA_FTYPE_MOSTLY_Q8_0
  EXPECT_EQ(file.string("tokenizer.ggml.model"), "bert");
  EXPECT_EQ(file.require("tokenizer.ggml.add_bos_token").integer, 1);

  const std::vector<std::string>& vocab = tiny_bert_vocab();
  const GgufValue& tokens = file.require("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.items.size(), vocab.size());
  const GgufValue& types = file.require("tokenizer.ggml.token_type");
  for (size_t i = 0; i < vocab.size(); ++i) {
    const std::string& t = vocab[i];
    const bool special = t == "[PAD]" || t == "[UNK]" || t == "[CLS]" || t == "[SEP]" || t == "[MASK]";
    const std::string want = special ? t : t.rfind("##", 0) == 0 ? t.substr(2) : "\xe2\x96\x81" + t;
    ASSERT_EQ(tokens.items[i].text, want) << i;
    EXPECT_EQ(types.items[i].integer, special ? 3 : 1) << t;
  }
  EXPECT_EQ(file.integer("tokenizer.ggml.bos_token_id"), 2);  // [CLS]: llama.cpp's BOS
  EXPECT_EQ(file.integer("tokenizer.ggml.seperator_token_id"), 3);
  EXPECT_EQ(file.integer("tokenizer.ggml.unknown_token_id"), 1);
  EXPECT_EQ(file.integer("tokenizer.ggml.padding_token_id"), 0);

  std::set<std::string> names;
  for (const GgufTensorInfo& t : file.tensors()) names.insert(t.name);
  std::set<std::string> want = {"token_embd.weight", "position_embd.weight", "token_types.weight",
                                "token_embd_norm.weight", "token_embd_norm.bias"};
  for (int l = 0; l < 2; ++l)
    for (const char* part : {"attn_q", "attn_k", "attn_v", "attn_output", "attn_output_norm", "ffn_up",
                             "ffn_down", "layer_output_norm"})
      for (const char* kind : {".weight", ".bias"})
        want.insert("blk." + std::to_string(l) + "." + part + kind);
  EXPECT_EQ(names, want);  // llama.cpp refuses a file with tensors it does not expect (the pooler)
  const GgufTensorInfo* q = file.find_tensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, GgmlType::Q8_0);
  EXPECT_EQ(q->ne, (std::vector<int64_t>{64, 64}));
  EXPECT_EQ(file.find_tensor("blk.0.ffn_up.weight")->ne, (std::vector<int64_t>{64, 128}));
  EXPECT_EQ(file.find_tensor("token_embd_norm.weight")->type, GgmlType::F32);
  EXPECT_EQ(file.find_tensor("position_embd.weight")->type, GgmlType::F32);
}

TEST(GgufExport, ClassifierBecomesRankPoolingAndComesBackAsTheSameHead) {
  TempDir dir;
  const fs::path source = dir.path() / "src", gguf = dir.path() / "c.gguf", imported = dir.path() / "back";
  write_tiny_bert(source, {.hidden = 64, .layers = 2, .heads = 4, .intermediate = 128, .num_labels = 3});
  const GgufExportReport report = export_gguf(source, gguf, {.type = GgmlType::F32});
  EXPECT_EQ(report.pooling, "rank");
  const GgufFile file(gguf);
  EXPECT_EQ(file.integer("bert.pooling_type"), 4);
  const GgufValue& labels = file.require("bert.classifier.output_labels");
  ASSERT_EQ(labels.items.size(), 3u);
  EXPECT_EQ(labels.items[2].text, "LABEL_2");
  // BERT's pooler is llama.cpp's cls (dense → tanh), its classifier cls.output.
  ASSERT_NE(file.find_tensor("cls.weight"), nullptr);
  EXPECT_EQ(file.find_tensor("cls.output.weight")->ne, (std::vector<int64_t>{64, 3}));

  import_gguf(gguf, imported, false);
  const auto want = Model::load(source, {.threads = 1}).classify(kTexts);
  const auto got = Model::load(imported, {.threads = 1}).classify(kTexts);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].label, want[i].label);
    for (size_t j = 0; j < want[i].logits.size(); ++j)
      EXPECT_NEAR(got[i].logits[j], want[i].logits[j], 1e-5f);
  }
}

TEST(GgufExport, TypesTheRowsCannotTakeFallBackAsLlamaCppDoes) {
  TempDir dir;
  const fs::path source = dir.path() / "src";
  write_tiny_bert(source,
                  {.hidden = 64, .layers = 1, .heads = 4, .intermediate = 128, .sentence_transformer = true});
  const std::pair<GgmlType, GgmlType> cases[] = {
      {GgmlType::Q4_K, GgmlType::Q5_0}, {GgmlType::Q5_K, GgmlType::Q5_1},  {GgmlType::Q6_K, GgmlType::Q8_0},
      {GgmlType::Q2_K, GgmlType::Q4_0}, {GgmlType::TQ2_0, GgmlType::Q4_0}, {GgmlType::BF16, GgmlType::BF16}};
  for (const auto& [asked, got] : cases) {
    const GgufExportReport report = export_gguf(source, dir.path() / "t.gguf", {.type = asked});
    for (const GgufExportedTensor& t : report.tensors) {
      if (t.gguf_name != "blk.0.attn_q.weight") continue;
      EXPECT_EQ(t.type, got) << quant::ggml_type_info(asked).name;
      EXPECT_EQ(t.origin, GgufTensorOrigin::FromSource);
      if (asked != got) {
        EXPECT_NE(t.note.find("as llama.cpp falls back"), std::string::npos) << t.note;
      }
    }
    // every file reads back and runs
    EXPECT_EQ(Model::load(import_gguf(dir.path() / "t.gguf", dir.path() / "t", true).out, {.threads = 1})
                  .embed(kTexts)
                  .size(),
              kTexts.size());
  }
}

TEST(GgufExport, RefusesWhatLlamaCppCannotRunWithOneClearError) {
  TempDir dir;
  const fs::path source = dir.path() / "src";
  write_tiny_bert(source, {.hidden = 64, .layers = 1, .heads = 4, .intermediate = 128});
  const fs::path out = dir.path() / "x.gguf";
  {
    nlohmann::json config;
    std::ifstream(source / "config.json") >> config;
    config["model_type"] = "electra";
    std::ofstream(source / "config.json") << config.dump();
    const CliResult r = run_cli({"export", source.string(), "--gguf", out.string()});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("model_type \"electra\" has no llama.cpp architecture; GGUF export supports bert"),
              std::string::npos)
        << r;
    config["model_type"] = "bert";
    std::ofstream(source / "config.json") << config.dump();
  }
  fs::remove(source / "vocab.txt");
  fs::remove(source / "tokenizer.json");
  const CliResult r = run_cli({"export", source.string(), "--gguf", out.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no tokenizer.json or vocab.txt"), std::string::npos) << r;
  EXPECT_FALSE(fs::exists(out));
  const CliResult bad_type =
      run_cli({"export", source.string(), "--gguf", out.string(), "--type", "IQ2_XXS"});
  EXPECT_NE(bad_type.err.find("--type IQ2_XXS: not a GGUF type quantpipe writes"), std::string::npos)
      << bad_type;
}

TEST(GgufImport, RefusesOtherArchitecturesAndBrokenFilesLeavingNoOutput) {
  TempDir dir;
  GgufWriter writer;
  writer.set("general.architecture", GgufValue::string("llama"));
  writer.write(dir.path() / "llama.gguf");
  const fs::path out = dir.path() / "out";
  const CliResult r = run_cli({"import", (dir.path() / "llama.gguf").string(), "-o", out.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("architecture \"llama\" is not one quantpipe imports"), std::string::npos) << r;
  EXPECT_FALSE(fs::exists(out));
  std::ofstream(dir.path() / "junk.gguf") << "not a gguf at all";
  const ScopedEnv cache("XDG_CACHE_HOME", (dir.path() / "cache").c_str());  // .gguf imports go here
  std::ofstream(dir.path() / "in.txt") << "hello\n";
  const CliResult junk = run_cli({"embed", "-m", (dir.path() / "junk.gguf").string()}, dir.path() / "in.txt");
  EXPECT_NE(junk.exit_code, 0);
  EXPECT_NE(junk.err.find("not a GGUF file"), std::string::npos) << junk;
}

// The exporter's type choices for rows of 384 are llama.cpp's own (recorded
// from llama-quantize in tests/golden/gguf/kquants.json).
TEST(GgufExport, FallbacksOnMiniLmMatchLlamaQuantize) {
  QP_REQUIRE_SHARED("models/minilm-l6-sts");
  std::ifstream in(source_dir() / "tests/golden/gguf/kquants.json");
  const nlohmann::json golden = nlohmann::json::parse(in);
  TempDir dir;
  for (const auto& [type_name, entry] : golden["types"].items()) {
    const GgmlType type = quant::find_ggml_type(type_name)->type;
    const GgufExportReport report =
        export_gguf(shared_dir() / "models/minilm-l6-sts", dir.path() / "m.gguf", {.type = type});
    int compared = 0;
    for (const GgufExportedTensor& t : report.tensors) {
      if (t.gguf_name.rfind("blk.", 0) != 0 || t.gguf_name.find("norm") != std::string::npos ||
          t.gguf_name.find(".weight") == std::string::npos)
        continue;
      EXPECT_EQ(std::string(quant::ggml_type_info(t.type).name),
                entry["file_types"][t.gguf_name].get<std::string>())
          << type_name << " " << t.gguf_name;
      ++compared;
    }
    EXPECT_EQ(compared, 36);
  }
}

}  // namespace
}  // namespace qp::test

namespace qp::test {
namespace {

// A file as llama.cpp's converter writes a RoBERTa: a "gpt2" vocabulary with
// merges and no tokenizer.huggingface.json. quantpipe rebuilds vocab.json +
// merges.txt from llama.cpp's keys and tokenizes as RoBERTa does.
TEST(GgufImport, RebuildsByteLevelBpeFromLlamaCppKeys) {
  TempDir dir;
  const fs::path source = dir.path() / "src", bert = dir.path() / "bert.gguf",
                 roberta = dir.path() / "r.gguf";
  write_tiny_bert(source, {.hidden = 32, .layers = 1, .heads = 2, .intermediate = 64});
  export_gguf(source, bert, {.type = GgmlType::F32});
  const GgufFile in(bert);
  const int64_t rows = in.find_tensor("token_embd.weight")->ne[1];
  std::vector<std::string> tokens = {"<s>",   "<pad>", "</s>", "<unk>", "h",     "e",        "l",
                                     "o",     "he",    "ll",   "hell",  "hello", "\xc4\xa0", "\xc4\xa0hello",
                                     "<mask>"};
  std::vector<int32_t> types(tokens.size(), 1);
  for (int i : {0, 1, 2, 3, 14}) types[static_cast<size_t>(i)] = 3;
  for (int64_t i = static_cast<int64_t>(tokens.size()); i < rows; ++i) {
    tokens.push_back("[PAD" + std::to_string(i) + "]");
    types.push_back(5);
  }
  GgufWriter out;
  for (const auto& [key, value] : in.metadata())
    if (key.rfind("tokenizer.", 0) != 0) out.set(key, value);
  out.set("tokenizer.ggml.model", GgufValue::string("gpt2"));
  out.set("tokenizer.ggml.pre", GgufValue::string("roberta-bpe"));
  out.set("tokenizer.ggml.tokens", GgufValue::strings(tokens));
  out.set("tokenizer.ggml.token_type", GgufValue::i32s(types));
  out.set("tokenizer.ggml.merges", GgufValue::strings({"h e", "l l", "he ll", "hell o", "\xc4\xa0 hello"}));
  out.set("tokenizer.ggml.bos_token_id", GgufValue::u32(0));
  out.set("tokenizer.ggml.eos_token_id", GgufValue::u32(2));
  out.set("tokenizer.ggml.padding_token_id", GgufValue::u32(1));
  out.set("tokenizer.ggml.unknown_token_id", GgufValue::u32(3));
  out.set("tokenizer.ggml.mask_token_id", GgufValue::u32(14));
  for (const GgufTensorInfo& t : in.tensors()) {
    const auto bytes = in.tensor_bytes(t);
    out.add_tensor({t.name, t.type, t.ne, std::vector<uint8_t>(bytes.begin(), bytes.end())});
  }
  out.write(roberta);

  const GgufImportReport report = import_gguf(roberta, dir.path() / "imported", false);
  EXPECT_EQ(report.tokenizer, "vocab.json + merges.txt rebuilt from tokenizer.ggml.tokens / merges");
  const Model model = Model::load(report.out, {.threads = 1});
  const auto encodings = model.tokenize({{"hello hello"}});
  ASSERT_EQ(encodings.size(), 1u);
  EXPECT_EQ(encodings[0].input_ids, (std::vector<int32_t>{0, 11, 13, 2}));  // <s> hello Ġhello </s>
}

}  // namespace
}  // namespace qp::test

namespace qp::test {
namespace {

class GgufOracleFamilies : public ::testing::TestWithParam<std::string> {};

// Each family llama.cpp runs, through GGUF and back: the tiny random models of
// ../shared/oracle (which carry Hugging Face's own logits) exported as F32 and
// imported again give Hugging Face's logits. RoBERTa and XLM-R come back as
// BERT with their positions already shifted; ModernBERT as ModernBERT.
TEST_P(GgufOracleFamilies, ExportedAndImportedGiveHuggingFacesLogits) {
  const std::string arch = GetParam();
  QP_REQUIRE_SHARED("oracle/" + arch + "-tiny");
  TempDir dir;
  const fs::path source = dir.path() / "src";
  fs::copy(shared_dir() / "oracle" / (arch + "-tiny"), source, fs::copy_options::recursive);
  std::ifstream config_in(source / "config.json");
  const nlohmann::json config = nlohmann::json::parse(config_in);
  std::ofstream vocab(source / "vocab.txt");  // the oracle models carry no tokenizer; ids go in directly
  const std::map<int, std::string> specials = {
      {0, "[PAD]"}, {100, "[UNK]"}, {101, "[CLS]"}, {102, "[SEP]"}, {103, "[MASK]"}};
  for (int i = 0; i < config["vocab_size"].get<int>(); ++i)
    vocab << (specials.count(i) ? specials.at(i) : "w" + std::to_string(i)) << "\n";
  vocab.close();
  export_gguf(source, dir.path() / "m.gguf", {.type = GgmlType::F32});
  const GgufImportReport back = import_gguf(dir.path() / "m.gguf", dir.path() / "back", false);
  const Model model = Model::load(back.out, {.threads = 1});

  std::ifstream ref_in(source / "reference_outputs.json");
  const nlohmann::json ref = nlohmann::json::parse(ref_in);
  std::vector<Encoding> rows;
  std::vector<size_t> which;
  for (size_t r = 0; r < ref["input_ids"].size(); ++r) {
    Encoding e;
    for (size_t i = 0; i < ref["input_ids"][r].size(); ++i)
      if (ref["attention_mask"][r][i].get<int>() == 1)
        e.input_ids.push_back(ref["input_ids"][r][i].get<int32_t>());
    // BERT's second segment has token type 1 in Hugging Face's run; rows with one segment only
    if (arch == "bert" && std::count(e.input_ids.begin(), e.input_ids.end(), 102) > 1) continue;
    e.token_type_ids.assign(e.input_ids.size(), 0);
    e.attention_mask.assign(e.input_ids.size(), 1);
    rows.push_back(e);
    which.push_back(r);
  }
  ASSERT_FALSE(rows.empty());
  const auto logits = model.logits_for_encodings(rows, static_cast<int>(rows.size()));
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < logits[i].size(); ++j)
      EXPECT_NEAR(logits[i][j], ref["logits"][which[i]][j].get<float>(), 1e-4f)
          << arch << " row " << which[i];
}

INSTANTIATE_TEST_SUITE_P(Families, GgufOracleFamilies,
                         ::testing::Values("bert", "roberta", "xlm-roberta", "modernbert"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace qp::test
