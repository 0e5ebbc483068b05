// Dataset readers (JSONL, CSV with RFC 4180 quoting, TSV) in the GLUE
// layouts, and loading from a pipeline config: label mapping, limit, hub
// exports in the cache and the error when one is missing.
#include <gtest/gtest.h>

#include "eval/datasets.h"
#include "io_test_util.h"
#include "pipeline/dataset_source.h"
#include "scoped_env.h"
#include "test_paths.h"

namespace qp {
namespace {

namespace fs = std::filesystem;

class EvalDatasets : public ::testing::Test {
 protected:
  fs::path write(const std::string& name, const std::string& text) {
    const fs::path path = dir_.path() / name;
    fs::create_directories(path.parent_path());
    test::write_bytes(path, text);
    return path;
  }
  test::TempDir dir_;
};

TEST_F(EvalDatasets, CsvQuotingFollowsRfc4180) {
  const auto records = parse_csv_records(
      "text,label\r\n"
      "\"Hello, world\",a\r\n"
      "\"She said \"\"hi\"\"\",b\n"
      "\"two\nlines\",c\n"
      "plain,\"\"\n",
      "x.csv");
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[1], (std::vector<std::string>{"Hello, world", "a"}));
  EXPECT_EQ(records[2], (std::vector<std::string>{"She said \"hi\"", "b"}));
  EXPECT_EQ(records[3], (std::vector<std::string>{"two\nlines", "c"}));
  EXPECT_EQ(records[4], (std::vector<std::string>{"plain", ""}));
}

TEST_F(EvalDatasets, CsvErrorsNameTheLine) {
  test::expect_error([] { parse_csv_records("a,b\n\"open,1\n", "x.csv"); },
                     {"x.csv:2: quoted field is never closed"});
  test::expect_error([] { parse_csv_records("a,b\n1,2\n\"q\"x,3\n", "x.csv"); },
                     {"x.csv:3: text after the closing quote"});
}

TEST_F(EvalDatasets, CsvFileWithPairsAndQuotedCommas) {
  const fs::path path = write("pairs.csv",
                              "premise,hypothesis,label\n"
                              "\"A man, smiling.\",\"He is \"\"happy\"\".\",entailment\n"
                              "Rain.,\"Sun,\nsun.\",contradiction\n");
  const auto examples = read_csv_dataset(path, {"premise", "hypothesis", "label"});
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].input.text, "A man, smiling.");
  EXPECT_EQ(examples[0].input.text_pair, "He is \"happy\".");
  EXPECT_EQ(examples[1].input.text_pair, "Sun,\nsun.");
  EXPECT_EQ(examples[1].label, "contradiction");
  test::expect_error([&] { read_csv_dataset(write("bad.csv", "text,label\nx\n"), {}); },
                     {"bad.csv:2: 1 fields, the header has 2"});
  // A record with a quoted line break: the error names the line the bad record starts on.
  test::expect_error([&] { read_csv_dataset(write("bad2.csv", "text,label\n\"a\nb\",x\nlast\n"), {}); },
                     {"bad2.csv:4: 1 fields, the header has 2"});
}

TEST_F(EvalDatasets, GlueLayouts) {
  // MNLI JSONL (premise / hypothesis, integer labels as the hub export writes them).
  const auto mnli = read_jsonl_dataset(
      write("mnli.jsonl", "{\"premise\":\"P\",\"hypothesis\":\"H\",\"label\":2,\"idx\":0}\n"),
      {"premise", "hypothesis", "label"});
  ASSERT_EQ(mnli.size(), 1u);
  EXPECT_EQ(mnli[0].input.text, "P");
  EXPECT_EQ(mnli[0].input.text_pair, "H");
  EXPECT_EQ(mnli[0].label, "2");
  // SST-2 TSV (sentence / label).
  const auto sst = read_tsv_dataset(write("sst2.tsv", "sentence\tlabel\r\nit 's fine \"really\"\t1\r\n"),
                                    {"sentence", "", "label"});
  ASSERT_EQ(sst.size(), 1u);
  EXPECT_EQ(sst[0].input.text, "it 's fine \"really\"");
  EXPECT_FALSE(sst[0].input.text_pair);
  EXPECT_EQ(sst[0].label, "1");
  // STS-B TSV (sentence1 / sentence2 / score).
  const auto sts =
      read_tsv_dataset(write("stsb.tsv", "sentence1\tsentence2\tscore\nA\tB\t3.800\nC\tD\tn/a\n"),
                       {"sentence1", "sentence2", "score"});
  ASSERT_EQ(sts.size(), 2u);
  EXPECT_TRUE(sts[0].has_score);
  EXPECT_DOUBLE_EQ(sts[0].score, 3.8);
  EXPECT_FALSE(sts[1].has_score);
  test::expect_error(
      [&] {
        read_tsv_dataset(write("s.tsv", "a\tb\nx\ty\n"), {"text", "", "b"});
      },
      {"s.tsv:1: header has no column 'text' (columns: a, b)"});
}

TEST_F(EvalDatasets, NoLabelColumnIsUnlabelled) {
  const auto rows =
      read_jsonl_dataset(write("u.jsonl", "{\"text\":\"a\"}\n\n{\"text\":\"b\"}\n"), {"text", "", ""});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].input.text, "b");
  EXPECT_EQ(rows[1].label, "");
  EXPECT_FALSE(rows[1].has_score);
  test::expect_error([&] { read_jsonl_dataset(write("l.jsonl", "{\"text\":\"a\"}\n"), {}); },
                     {"l.jsonl:1: missing field 'label'"});
}

TEST_F(EvalDatasets, BadJsonlRowsNameFileAndLine) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "[";
  test::expect_error(
      [&] {
        read_jsonl_dataset(write("d.jsonl", "{\"text\":\"a\",\"label\":\"x\"}\n{\"text\": " + deep + "\n"),
                           {});
      },
      {"d.jsonl:2", "deeper than 64"});
  test::expect_error(
      [&] { read_jsonl_dataset(write("o.jsonl", "{\"text\": {\"a\": 1}, \"label\": \"x\"}\n"), {}); },
      {"o.jsonl:1: field 'text' is {\"a\": 1} (an object), expected a string"});
  test::expect_error(
      [&] { read_jsonl_dataset(write("k.jsonl", "{\"text\": \"a\", \"text\": \"b\", \"label\": 1}\n"), {}); },
      {"k.jsonl:1", "key \"text\" appears twice"});
  const auto rows = read_jsonl_dataset(write("n.jsonl", "{\"text\": \"a\", \"label\": 1}\n"), {});
  EXPECT_EQ(rows[0].label, "1");
}

TEST_F(EvalDatasets, EmptyFileIsAnError) {
  test::expect_error([&] { read_jsonl_dataset(write("e.jsonl", "\n"), {}); },
                     {"e.jsonl: dataset has no rows"});
  test::expect_error([&] { read_csv_dataset(write("e.csv", "text,label\n"), {}); },
                     {"e.csv: dataset has no rows"});
}

TEST_F(EvalDatasets, ConfigAppliesLimitThenLabelMapping) {
  pipeline::DatasetConfig config = pipeline::local_file_dataset(
      write("s.tsv", "text\tlabel\ngood\t1\nbad\t0\nodd\t7\n"), {"text", "", "label"});
  EXPECT_EQ(config.format, pipeline::DatasetFormat::Tsv);
  config.label_mapping = {{"0", "negative"}, {"1", "positive"}};
  config.limit = 2;
  const auto rows = pipeline::load_dataset(config, dir_.path());
  ASSERT_EQ(rows.size(), 2u);  // the unmapped third row is beyond the limit
  EXPECT_EQ(rows[0].label, "positive");
  EXPECT_EQ(rows[1].label, "negative");
  EXPECT_FALSE(rows[0].has_score);
  config.limit.reset();
  test::expect_error([&] { pipeline::load_dataset(config, dir_.path()); },
                     {"row 3: label '7' has no entry in label_mapping (mapped values: 0, 1)"});
  test::expect_error([&] { pipeline::local_file_dataset(dir_.path() / "x.parquet", {}); },
                     {"x.parquet: cannot tell the dataset format from the extension '.parquet'"});
}

// Dev sets are often sorted by label: a limit must not pick one class only.
TEST_F(EvalDatasets, LimitSpreadsRowsEvenlyOverTheFile) {
  std::string text = "text\tlabel\n";
  for (int i = 0; i < 10; ++i) text += "t" + std::to_string(i) + "\t" + (i < 5 ? "a" : "b") + "\n";
  pipeline::DatasetConfig config =
      pipeline::local_file_dataset(write("sorted.tsv", text), {"text", "", "label"});
  config.limit = 4;
  const auto rows = pipeline::load_dataset(config, dir_.path());
  ASSERT_EQ(rows.size(), 4u);
  std::vector<std::string> texts;
  for (const auto& row : rows) texts.push_back(row.input.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"t0", "t2", "t5", "t7"}));  // i·10/4
  EXPECT_EQ(rows.front().label, "a");
  EXPECT_EQ(rows.back().label, "b");
  config.limit = 50;  // more than there are: all of them
  EXPECT_EQ(pipeline::load_dataset(config, dir_.path()).size(), 10u);
}

pipeline::DatasetConfig mnli_hub(const fs::path& cache) {
  pipeline::DatasetConfig config;
  config.name = "mnli";
  config.provider = pipeline::DatasetProvider::HuggingFace;
  config.hf_name = "nyu-mll/glue";
  config.subset = "mnli";
  config.splits = {"validation_matched"};
  config.columns = {"premise", "hypothesis", "label"};
  config.label_mapping = {{"0", "entailment"}, {"1", "neutral"}, {"2", "contradiction"}};
  config.preprocessing.cache_dir = cache;
  config.source = {"configs/datasets.yaml", 10};
  return config;
}

// Offline, a split not cached is one clear error (online it is fetched: hub_dataset_test.cpp).
TEST_F(EvalDatasets, HubDatasetNotCachedOfflineSaysWhatWhereAndHow) {
  test::ScopedEnv offline("HF_HUB_OFFLINE", "1");
  const fs::path cache = dir_.path() / "cache";
  const fs::path expected = cache / "nyu-mll__glue" / "mnli" / "validation_matched.jsonl";
  EXPECT_EQ(pipeline::hub_export_path(mnli_hub(cache), "validation_matched", "/unused"), expected);
  test::expect_error([&] { pipeline::load_dataset(mnli_hub(cache), "/unused"); },
                     {"configs/datasets.yaml:10: dataset 'mnli'", "split validation_matched",
                      "is not cached at " + expected.string(), "HF_HUB_OFFLINE",
                      "python3 -c \"from datasets import load_dataset; load_dataset('nyu-mll/glue','mnli',"
                      "split='validation_matched').to_json('" +
                          expected.string() + "')\""});
}

TEST_F(EvalDatasets, HubDatasetFromTheCache) {
  pipeline::DatasetConfig config = mnli_hub("");
  write("default/nyu-mll__glue/mnli/validation_matched.jsonl",
        "{\"premise\":\"p1\",\"hypothesis\":\"h1\",\"label\":1,\"idx\":0}\n"
        "{\"premise\":\"p2\",\"hypothesis\":\"h2\",\"label\":0,\"idx\":1}\n");
  const auto rows = pipeline::load_dataset(config, dir_.path() / "default");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].label, "neutral");
  EXPECT_EQ(rows[1].label, "entailment");
  EXPECT_EQ(rows[1].input.text_pair, "h2");
}

}  // namespace
}  // namespace qp

namespace qp {
namespace {

// Issue 14: rows as `quantpipe tokenize` prints them, for models without tokenizer files.
TEST(EvalDatasetsPretokenized, JsonlRowsMayCarryInputIds) {
  test::TempDir dir;
  const fs::path path = dir.path() / "ids.jsonl";
  test::write_bytes(path,
                    "{\"input_ids\": [2, 7, 3], \"token_type_ids\": [0, 0, 1], \"label\": \"b\"}\n"
                    "{\"text\": \"plain\", \"label\": \"a\"}\n"
                    "{\"input_ids\": [2, 9, 0], \"attention_mask\": [1, 1, 0], \"label\": 1}\n");
  const std::vector<LabelledExample> rows = read_jsonl_dataset(path, {});
  ASSERT_EQ(rows.size(), 3u);
  ASSERT_TRUE(rows[0].ids);
  EXPECT_EQ(rows[0].ids->input_ids, (std::vector<int32_t>{2, 7, 3}));
  EXPECT_EQ(rows[0].ids->token_type_ids, (std::vector<int32_t>{0, 0, 1}));
  EXPECT_EQ(rows[0].ids->attention_mask, (std::vector<int32_t>{1, 1, 1}));
  EXPECT_EQ(rows[0].label, "b");
  EXPECT_FALSE(rows[1].ids);
  EXPECT_EQ(rows[1].input.text, "plain");
  ASSERT_TRUE(rows[2].ids);
  EXPECT_EQ(rows[2].ids->token_type_ids, (std::vector<int32_t>{0, 0, 0}));
  EXPECT_EQ(rows[2].ids->attention_mask, (std::vector<int32_t>{1, 1, 0}));
  EXPECT_TRUE(rows[2].has_score);
}

TEST(EvalDatasetsPretokenized, BadRowsAreRefusedByLineAndField) {
  test::TempDir dir;
  const auto error_for = [&](const std::string& line, const ColumnMapping& columns = {}) {
    const fs::path path = dir.path() / "bad.jsonl";
    test::write_bytes(path, line + "\n");
    return [=] { read_jsonl_dataset(path, columns); };
  };
  test::expect_error(error_for("{\"text\": \"a\", \"input_ids\": [1], \"label\": 0}"),
                     {"bad.jsonl:1", "either the text field 'text' or \"input_ids\""});
  test::expect_error(error_for("{\"input_ids\": [1, -2], \"label\": 0}"),
                     {"bad.jsonl:1", "\"input_ids\" holds -2"});
  test::expect_error(error_for("{\"input_ids\": [1, 2], \"attention_mask\": [1], \"label\": 0}"),
                     {"bad.jsonl:1", "\"attention_mask\" has 1 entries but \"input_ids\" has 2"});
  test::expect_error(error_for("{\"input_ids\": [], \"label\": 0}"),
                     {"bad.jsonl:1", "\"input_ids\" is empty"});
  test::expect_error(error_for("{\"input_ids\": [1, 2], \"label\": 0}", {.text_pair = "pair"}),
                     {"bad.jsonl:1", "drop the text_pair column"});
}

}  // namespace
}  // namespace qp
