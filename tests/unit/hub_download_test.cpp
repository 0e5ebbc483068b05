// Downloads from a fake hub on 127.0.0.1 (fake_hub.h) into the huggingface_hub
// cache layout, with the faults a real network brings: 429s, a dropped
// connection, a partial file from an earlier run, gated and unknown repos,
// offline mode. The downloaded snapshot must load with the engine.
#include "io/hub_download.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "fake_hub.h"
#include "io/hub_cache.h"
#include "io/sha256_file.h"
#include "models/tiny_model.h"
#include "io/transfer_progress.h"
#include "io_test_util.h"
#include "quantpipe/model.h"
#include "test_paths.h"

namespace qp {
namespace {
namespace fs = std::filesystem;
using test::expect_error;
using test::FakeHub;
using test::TempDir;

const char* kRepo = "tiny-org/tiny-st";

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class HubDownload : public ::testing::Test {
 protected:
  void SetUp() override {
    write_tiny_bert(tmp_.path() / "model", {.sentence_transformer = true});
    hub_.add_repo_from_dir(kRepo, tmp_.path() / "model");
    // Files the conversion does not need are left on the hub.
    hub_.repos[kRepo].files["README.md"] = "# card";
    hub_.repos[kRepo].files["flax_model.msgpack"] = "flax";
    hub_.repos[kRepo].files["pytorch_model.bin"] = "torch weights, not needed beside safetensors";
    options_.client.endpoint = hub_.endpoint();
    options_.client.backoff_s = 0.01;  // keep the retries short in tests
    options_.cache_root = tmp_.path() / "cache";
  }
  fs::path repo_dir() const { return options_.cache_root / "models--tiny-org--tiny-st"; }
  const std::string& sha() { return hub_.repos[kRepo].sha; }
  std::string content(const std::string& file) { return hub_.repos[kRepo].files[file]; }

  TempDir tmp_;
  FakeHub hub_;
  HubDownloadOptions options_;
};

TEST_F(HubDownload, FetchesWhatAConversionNeedsIntoTheHuggingFaceCacheLayoutAndLoads) {
  const fs::path snapshot = download_hub_model(parse_hub_ref(kRepo), options_);
  EXPECT_EQ(snapshot, repo_dir() / "snapshots" / sha());
  EXPECT_EQ(read_all(repo_dir() / "refs" / "main"), sha());
  // Snapshot entries are relative links to blobs named by etag; weights by the X-Linked-Etag of the 302.
  EXPECT_TRUE(fs::is_symlink(snapshot / "config.json"));
  EXPECT_EQ(fs::read_symlink(snapshot / "model.safetensors"),
            fs::path("../../blobs") / FakeHub::etag_of(content("model.safetensors"), "lfs"));
  EXPECT_EQ(fs::read_symlink(snapshot / "config.json"),
            fs::path("../../blobs") / FakeHub::etag_of(content("config.json"), "git"));
  EXPECT_EQ(fs::read_symlink(snapshot / "1_Pooling" / "config.json"),
            fs::path("../../../blobs") / FakeHub::etag_of(content("1_Pooling/config.json"), "git"));
  EXPECT_EQ(read_all(snapshot / "model.safetensors"), content("model.safetensors"));
  EXPECT_TRUE(fs::exists(snapshot / "modules.json"));
  EXPECT_FALSE(fs::exists(snapshot / "README.md"));
  EXPECT_FALSE(fs::exists(snapshot / "flax_model.msgpack"));
  EXPECT_FALSE(fs::exists(snapshot / "pytorch_model.bin"));
  for (const auto& entry : fs::directory_iterator(repo_dir() / "blobs"))
    EXPECT_EQ(entry.path().extension(), "") << "left behind: " << entry.path();

  const Model model = Model::load(snapshot);
  const Model reference = Model::load(tmp_.path() / "model");
  EXPECT_EQ(model.embed({{"hello world"}})[0], reference.embed({{"hello world"}})[0]);
  // Found by the cache lookup the offline paths use.
  EXPECT_EQ(find_cached_hub_model(kRepo, options_.cache_root), snapshot);
}

TEST_F(HubDownload, RenamedRepoFollowsTheHubsRelativeRedirects) {
  hub_.renamed["old-org/tiny-st"] = kRepo;
  const fs::path snapshot = download_hub_model(parse_hub_ref("old-org/tiny-st"), options_);
  EXPECT_EQ(snapshot, options_.cache_root / "models--old-org--tiny-st" / "snapshots" / sha());
  EXPECT_EQ(read_all(snapshot / "model.safetensors"), content("model.safetensors"));
}

TEST_F(HubDownload, SecondRunDownloadsNothing) {
  download_hub_model(parse_hub_ref(kRepo), options_);
  download_hub_model(parse_hub_ref(kRepo), options_);
  EXPECT_EQ(hub_.requests["model.safetensors"], 1);
}

TEST_F(HubDownload, RetriesTooManyRequestsThenSucceeds) {
  hub_.fail_429["model.safetensors"] = 2;
  const fs::path snapshot = download_hub_model(parse_hub_ref(kRepo), options_);
  EXPECT_EQ(hub_.requests["model.safetensors"], 3);
  EXPECT_EQ(read_all(snapshot / "model.safetensors"), content("model.safetensors"));
}

TEST_F(HubDownload, GivesUpAfterBoundedRetriesNamingRepoAndFile) {
  hub_.fail_429["model.safetensors"] = 100;
  options_.client.max_attempts = 3;
  expect_error([&] { download_hub_model(parse_hub_ref(kRepo), options_); },
               {kRepo, "model.safetensors", "429"});
  EXPECT_EQ(hub_.requests["model.safetensors"], 3);
  EXPECT_FALSE(fs::exists(repo_dir() / "snapshots" / sha() / "model.safetensors"));
}

TEST_F(HubDownload, ConnectionDroppedMidFileResumesWithRange) {
  hub_.drop_first["model.safetensors"] = true;
  const fs::path snapshot = download_hub_model(parse_hub_ref(kRepo), options_);
  EXPECT_EQ(hub_.requests["model.safetensors"], 2);
  EXPECT_EQ(hub_.ranges["model.safetensors"],
            "bytes=" + std::to_string(content("model.safetensors").size() / 2) + "-");
  EXPECT_EQ(read_all(snapshot / "model.safetensors"), content("model.safetensors"));
}

TEST_F(HubDownload, PartialBlobFromAnEarlierRunIsResumed) {
  const std::string weights = content("model.safetensors");
  const fs::path blob = repo_dir() / "blobs" / FakeHub::etag_of(weights, "lfs");
  fs::create_directories(blob.parent_path());
  std::ofstream(blob.string() + ".incomplete", std::ios::binary) << weights.substr(0, 100);
  const fs::path snapshot = download_hub_model(parse_hub_ref(kRepo), options_);
  EXPECT_EQ(hub_.ranges["model.safetensors"], "bytes=100-");
  EXPECT_EQ(read_all(snapshot / "model.safetensors"), weights);
  EXPECT_FALSE(fs::exists(blob.string() + ".incomplete"));
}

TEST_F(HubDownload, CorruptTransferFailsTheSha256CheckAndIsNotKept) {
  hub_.corrupt["model.safetensors"] = true;
  expect_error(
      [&] { download_hub_model(parse_hub_ref(kRepo), options_); },
      {kRepo, "model.safetensors", "SHA-256", FakeHub::etag_of(content("model.safetensors"), "lfs")});
  EXPECT_FALSE(fs::exists(repo_dir() / "snapshots" / sha() / "model.safetensors"));
  EXPECT_FALSE(fs::exists(repo_dir() / "blobs" / FakeHub::etag_of(content("model.safetensors"), "lfs")));
  hub_.corrupt["model.safetensors"] = false;
  const fs::path snapshot = download_hub_model(parse_hub_ref(kRepo), options_);
  EXPECT_EQ(read_all(snapshot / "model.safetensors"), content("model.safetensors"));
}

TEST(Sha256, KnownDigests) {
  EXPECT_EQ(sha256_hex_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(is_sha256_hex(sha256_hex_of("abc")));
  EXPECT_FALSE(is_sha256_hex("lfs123"));
}

TEST_F(HubDownload, GatedRepoNeedsTheToken) {
  hub_.repos[kRepo].gated = true;
  expect_error([&] { download_hub_model(parse_hub_ref(kRepo), options_); },
               {kRepo, "401", "gated", "HF_TOKEN"});
  options_.client.token = FakeHub::kToken;
  EXPECT_TRUE(fs::exists(download_hub_model(parse_hub_ref(kRepo), options_) / "config.json"));
}

TEST_F(HubDownload, UnknownRepoAndRevisionAreClearErrors) {
  expect_error([&] { download_hub_model(parse_hub_ref("nobody/nothing"), options_); },
               {"nobody/nothing", "404"});
  expect_error([&] { download_hub_model(parse_hub_ref(std::string(kRepo) + "@v9"), options_); },
               {kRepo, "v9", "404"});
  EXPECT_FALSE(fs::exists(options_.cache_root / "models--nobody--nothing"));
}

TEST_F(HubDownload, OfflineReadsTheCacheOnly) {
  const fs::path snapshot = download_hub_model(parse_hub_ref(kRepo), options_);
  options_.offline = true;
  options_.client.endpoint = "http://127.0.0.1:1";  // nothing listens: any request would fail
  EXPECT_EQ(download_hub_model(parse_hub_ref(kRepo), options_), snapshot);
  EXPECT_EQ(download_hub_model(parse_hub_ref(std::string(kRepo) + "@" + sha()), options_), snapshot);
  expect_error([&] { download_hub_model(parse_hub_ref("other/model"), options_); },
               {"other/model", "config.json", "HF_HUB_OFFLINE"});
}

TEST(HubFiles, PrefersSafetensorsElsePytorchBinAndKeepsShardsAndModules) {
  const std::vector<std::string> both = {
      "config.json",     "model.safetensors",   "pytorch_model.bin",        "tf_model.h5",
      "onnx/model.onnx", "2_Dense/config.json", "2_Dense/model.safetensors"};
  EXPECT_EQ(files_to_fetch(both),
            (std::vector<std::string>{"config.json", "model.safetensors", "2_Dense/config.json",
                                      "2_Dense/model.safetensors"}));
  const std::vector<std::string> sharded_bin = {"config.json",
                                                "pytorch_model-00001-of-00002.bin",
                                                "pytorch_model-00002-of-00002.bin",
                                                "pytorch_model.bin.index.json",
                                                "vocab.txt",
                                                "README.md"};
  EXPECT_EQ(files_to_fetch(sharded_bin),
            (std::vector<std::string>{"config.json", "pytorch_model-00001-of-00002.bin",
                                      "pytorch_model-00002-of-00002.bin", "pytorch_model.bin.index.json",
                                      "vocab.txt"}));
}

TEST(HubRef, ParsesOrgNameAndRevisionAndRefusesOthers) {
  const HubRepoRef ref = parse_hub_ref("sentence-transformers/all-MiniLM-L6-v2@refs/pr/1");
  EXPECT_EQ(ref.repo, "sentence-transformers/all-MiniLM-L6-v2");
  EXPECT_EQ(ref.revision, "refs/pr/1");
  EXPECT_EQ(parse_hub_ref("a/b").revision, "main");
  expect_error([] { parse_hub_ref("../etc/passwd"); }, {"not a hub model id"});
  expect_error([] { parse_hub_ref("justaname"); }, {"not a hub model id"});
  EXPECT_FALSE(looks_like_hub_ref("/abs/path"));
  EXPECT_TRUE(looks_like_hub_ref("org/name"));
}

TEST(HubFiles, IncludeGlobsAddFilesAsHuggingfaceHubMatchesThem) {
  const std::vector<std::string> siblings = {"config.json", "model.safetensors", "README.md", "onnx/model.onnx",
                                             "onnx/model_quantized.onnx", "flax_model.msgpack"};
  EXPECT_EQ(files_to_fetch(siblings, {"*.onnx"}),
            (std::vector<std::string>{"config.json", "model.safetensors", "onnx/model.onnx",
                                      "onnx/model_quantized.onnx"}));  // '*' crosses '/'
  EXPECT_EQ(files_to_fetch(siblings, {"README.md", "*quantized*"}),
            (std::vector<std::string>{"config.json", "model.safetensors", "README.md", "onnx/model_quantized.onnx"}));
}

TEST(TransferProgress, ShowsBytesRateAndTimeLeft) {
  const int64_t mib = 1024 * 1024;
  EXPECT_EQ(format_transfer_progress("model.safetensors", 22 * mib, 88 * mib, 11.0 * mib),
            "[download] model.safetensors [#####---------------] 22.0/88.0 MiB  11.0 MiB/s  ETA 6s");
  EXPECT_EQ(format_transfer_progress("x", 0, 600 * mib, 1.0 * mib),
            "[download] x [--------------------] 0.0/600.0 MiB  1.0 MiB/s  ETA 10m00s");
  EXPECT_EQ(format_transfer_progress("x", 5 * mib, 0, 0), "[download] x 5.0 MiB");  // size unknown, no rate yet
  EXPECT_EQ(format_transfer_progress("x", 4 * mib, 4 * mib, 2.0 * mib),
            "[download] x [####################] 4.0/4.0 MiB  2.0 MiB/s");
}

}  // namespace
}  // namespace qp
