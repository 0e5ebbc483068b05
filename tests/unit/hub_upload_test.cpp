// Uploading to the hub (io/hub_upload.h) against the fake hub on 127.0.0.1
// (fake_hub.h, fake_hub_upload.h): bytes land identical, LFS vs regular as the
// hub's preupload answer says, the commit header, an existing repo, retries,
// branches, tokens; base64 against RFC 4648's vectors; the model card's front
// matter read back with yaml-cpp.
#include "io/hub_upload.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <random>

#include "core/error.h"
#include "fake_hub.h"
#include "io/base64.h"
#include "models/tiny_model.h"
#include "pipeline/model_card.h"
#include "quant/convert.h"
#include "test_paths.h"

namespace qp::test {
namespace {
namespace fs = std::filesystem;

std::string bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

void write(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

TEST(Base64, MatchesTheRfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) EXPECT_EQ(base64_encode(plain), encoded) << plain;
  for (size_t n : {1, 2, 3, 255, 256, 1000}) {
    const std::string data = bytes(n, static_cast<uint32_t>(n));
    EXPECT_EQ(FakeUploads::base64_decode(base64_encode(data)), data) << n;
  }
}

class HubUpload : public ::testing::Test {
 protected:
  void SetUp() override {
    write(dir() / "config.json", "{\"hidden_size\": 32}\n");
    write(dir() / "model.safetensors", bytes(70000, 1));
    write(dir() / "1_Pooling" / "config.json", "{\"pooling_mode_mean_tokens\": true}\n");
    write(dir() / ".cache" / "junk", "not uploaded");
    write(dir() / "vocab.txt.tmp-abc123", "an atomic write in progress");
  }
  fs::path dir() const { return tmp_.path() / "q"; }
  HubClientOptions options(const std::string& token = FakeHub::kToken) const {
    HubClientOptions o;
    o.endpoint = hub_.endpoint();
    o.token = token;
    o.backoff_s = 0.01;
    return o;
  }
  HubUploadRequest request(const std::string& repo = "me/tiny-q8") const {
    HubUploadRequest r;
    r.repo = repo;
    r.summary = "Upload q8";
    r.description = "from a test";
    r.files = files_in_dir(dir());
    return r;
  }
  std::map<std::string, std::string>& main_files(const std::string& repo = "me/tiny-q8") {
    return hub_.uploads.repos[repo].branches["main"];
  }

  TempDir tmp_;
  FakeHub hub_;
};

TEST_F(HubUpload, FilesInDirLeavesOutHiddenAndTemporaryFiles) {
  std::vector<std::string> paths;
  for (const UploadFile& f : files_in_dir(dir())) paths.push_back(f.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"1_Pooling/config.json", "config.json", "model.safetensors"}));
}

TEST_F(HubUpload, FilesLandByteIdenticalWeightsThroughLfs) {
  const HubCommit commit = upload_to_hub(request(), HubClient(options()));
  auto& files = main_files();
  ASSERT_EQ(files.size(), 3u);
  for (const UploadFile& f : files_in_dir(dir())) {
    std::ifstream in(f.local, std::ios::binary);
    EXPECT_EQ(files[f.path], std::string(std::istreambuf_iterator<char>(in), {})) << f.path;
  }
  ASSERT_EQ(hub_.uploads.repos["me/tiny-q8"].commits.size(), 1u);
  const FakeCommit& c = hub_.uploads.repos["me/tiny-q8"].commits[0];
  EXPECT_EQ(c.summary, "Upload q8");
  EXPECT_EQ(c.description, "from a test");
  EXPECT_EQ(c.lfs, std::vector<std::string>{"model.safetensors"});
  EXPECT_EQ(c.regular, (std::vector<std::string>{"1_Pooling/config.json", "config.json"}));
  EXPECT_EQ(commit.oid, c.oid);
  EXPECT_EQ(commit.url, hub_.endpoint() + "/me/tiny-q8/commit/" + c.oid);
  EXPECT_EQ(commit.lfs_uploaded, 1u);
  EXPECT_EQ(hub_.uploads.verified.count(sha256_hex_of(files["model.safetensors"])), 1u);
  // The PUT carried the action's header and not the token (the fake refuses that).
  EXPECT_EQ(hub_.uploads.put_headers.count("Authorization"), 0u);
  const auto sig = hub_.uploads.put_headers.find("x-fake-sig");
  ASSERT_NE(sig, hub_.uploads.put_headers.end());
  EXPECT_EQ(sig->second, "signed");
  // preupload saw the first 512 bytes of the first file.
  EXPECT_EQ(hub_.uploads.last_preupload_sample, "{\"pooling_mode_mean_tokens\": true}\n");
}

TEST_F(HubUpload, TheLfsThresholdIsTheHubsAnswer) {
  hub_.uploads.lfs_threshold = 30;  // config.json (20 bytes) stays regular, the pooling config does not
  const HubCommit commit = upload_to_hub(request(), HubClient(options()));
  EXPECT_EQ(commit.lfs, (std::vector<std::string>{"1_Pooling/config.json", "model.safetensors"}));
  EXPECT_EQ(commit.regular, std::vector<std::string>{"config.json"});
  EXPECT_EQ(main_files()["1_Pooling/config.json"], "{\"pooling_mode_mean_tokens\": true}\n");
}

TEST_F(HubUpload, AnExistingRepoIsFineAndKnownLfsObjectsAreNotSentAgain) {
  hub_.uploads.repos["me/tiny-q8"];  // created before: the create call answers 409
  upload_to_hub(request(), HubClient(options()));
  const HubCommit again = upload_to_hub(request(), HubClient(options()));
  EXPECT_EQ(hub_.uploads.calls["create"], 2);
  EXPECT_EQ(hub_.uploads.calls["put"], 1);
  EXPECT_EQ(again.lfs_uploaded, 0u);
  EXPECT_EQ(again.lfs, std::vector<std::string>{"model.safetensors"});
  EXPECT_EQ(hub_.uploads.repos["me/tiny-q8"].commits.size(), 2u);
}

TEST_F(HubUpload, FilesWithTheSameBytesAreOneLfsObject) {
  fs::copy_file(dir() / "model.safetensors", dir() / "copy.safetensors");
  const HubCommit commit = upload_to_hub(request(), HubClient(options()));
  EXPECT_EQ(commit.lfs, (std::vector<std::string>{"copy.safetensors", "model.safetensors"}));
  EXPECT_EQ(hub_.uploads.calls["put"], 1);
  EXPECT_EQ(main_files()["copy.safetensors"], main_files()["model.safetensors"]);
}

TEST_F(HubUpload, AnUnknownPullRequestRefIsAClearError) {
  HubUploadRequest r = request();
  r.revision = "refs/pr/7";  // not created: PR refs are the hub's to make
  try {
    upload_to_hub(r, HubClient(options()));
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const char* part : {"me/tiny-q8", "preupload", "404", "Revision Not Found"})
      EXPECT_NE(what.find(part), std::string::npos) << part << " not in " << what;
  }
  EXPECT_EQ(hub_.uploads.calls["branch"], 0);
}

TEST_F(HubUpload, LfsUploadsShowAProgressBarWhenAsked) {
  HubUploadRequest r = request();
  r.progress = true;
  testing::internal::CaptureStderr();
  upload_to_hub(r, HubClient(options()));
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("\r[upload] model.safetensors [####################] 0.1/0.1 MiB"), std::string::npos)
      << err;
  EXPECT_EQ(err.find("config.json ["), std::string::npos) << err;  // regular files go in the commit
}

TEST_F(HubUpload, ServerErrorsAreRetried) {
  for (const char* endpoint : {"create", "preupload", "batch", "put", "verify", "commit"})
    hub_.uploads.fail_5xx[endpoint] = 1;
  upload_to_hub(request(), HubClient(options()));
  for (const char* endpoint : {"create", "preupload", "batch", "put", "verify", "commit"})
    EXPECT_EQ(hub_.uploads.calls[endpoint], 2) << endpoint;
  EXPECT_EQ(main_files().size(), 3u);
}

TEST_F(HubUpload, PersistentServerErrorsFailNamingTheStep) {
  hub_.uploads.fail_5xx["commit"] = 100;
  HubClientOptions o = options();
  o.max_attempts = 2;
  try {
    upload_to_hub(request(), HubClient(o));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("me/tiny-q8: committing 3 files to main"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("503"), std::string::npos) << e.what();
  }
  EXPECT_EQ(hub_.uploads.calls["commit"], 2);
}

TEST_F(HubUpload, ARevisionIsABranchCreatedFromMain) {
  HubUploadRequest r = request();
  r.revision = "int8";
  upload_to_hub(r, HubClient(options()));
  upload_to_hub(r, HubClient(options()));  // the branch exists now: 409, fine
  auto& repo = hub_.uploads.repos["me/tiny-q8"];
  EXPECT_TRUE(repo.branches["main"].empty());
  EXPECT_EQ(repo.branches["int8"].size(), 3u);
  ASSERT_EQ(repo.commits.size(), 2u);
  EXPECT_EQ(repo.commits[0].branch, "int8");
  EXPECT_EQ(hub_.uploads.calls["branch"], 2);
  r.revision = std::string(40, 'a');
  EXPECT_THROW(upload_to_hub(r, HubClient(options())), Error);
}

TEST_F(HubUpload, TokensMissingOrRefused) {
  try {
    upload_to_hub(request(), HubClient(options("")));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("HF_TOKEN"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(hub_.uploads.calls.empty());  // refused before any request
  try {
    upload_to_hub(request(), HubClient(options("hf_wrong")));
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const char* part : {"me/tiny-q8", "401", "Invalid credentials", "write access"})
      EXPECT_NE(what.find(part), std::string::npos) << part << " not in " << what;
  }
  EXPECT_TRUE(hub_.uploads.repos.empty());
}

TEST_F(HubUpload, RepoIdsAndWhoami) {
  for (const char* bad : {"noslash", "a/b/c", "/name", "me/", "me/na me", "me/..x"})
    EXPECT_THROW(check_hub_repo_id(bad), Error) << bad;
  EXPECT_NO_THROW(check_hub_repo_id("my-org/MiniLM_L6.v2-q8"));
  EXPECT_EQ(hub_user_name(HubClient(options())), FakeUploads::kUser);
}

TEST(ModelCard, HubIdOfACacheSnapshot) {
  EXPECT_EQ(
      pipeline::hub_id_of_source("/h/hub/models--sentence-transformers--all-MiniLM-L6-v2/snapshots/abc"),
      "sentence-transformers/all-MiniLM-L6-v2");
  EXPECT_EQ(pipeline::hub_id_of_source("/home/me/models/minilm"), "");
}

TEST(ModelCard, FrontMatterAndBodyOfAConvertedModel) {
  TempDir tmp;
  const fs::path source = tmp.path() / "hub" / "models--tiny-org--tiny-st" / "snapshots" / "0123";
  fs::create_directories(source.parent_path());
  write_tiny_bert(source, {.sentence_transformer = true});
  quant::ConvertOptions options;
  options.plan.linear = quant::parse_scheme("q8_sym_ch");
  const quant::ConvertReport report = quant::convert_model(source, tmp.path() / "q8", options);
  const std::string card = pipeline::make_model_card({tmp.path() / "q8", "me/tiny-st-q8", "", {}});
  ASSERT_EQ(card.rfind("---\n", 0), 0u) << card;
  const size_t end = card.find("\n---\n", 4);
  ASSERT_NE(end, std::string::npos) << card;
  const YAML::Node front = YAML::Load(card.substr(4, end - 4));
  EXPECT_EQ(front["base_model"].as<std::string>(), "tiny-org/tiny-st");
  EXPECT_EQ(front["library_name"].as<std::string>(), "quantpipe");
  EXPECT_EQ(front["pipeline_tag"].as<std::string>(), "sentence-similarity");
  EXPECT_EQ(front["tags"].as<std::vector<std::string>>(),
            (std::vector<std::string>{"quantpipe", "quantized", "8-bit", "q8_sym_ch"}));
  EXPECT_NE(card.find("# me/tiny-st-q8"), std::string::npos);
  EXPECT_NE(card.find("Not evaluated"), std::string::npos);
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.2f× smaller",
                static_cast<double>(report.source_bytes()) / static_cast<double>(report.stored_bytes()));
  EXPECT_NE(card.find(ratio), std::string::npos) << ratio << "\n" << card;
}

}  // namespace
}  // namespace qp::test
