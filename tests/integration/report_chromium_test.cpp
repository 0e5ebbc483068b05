// The HTML report in a real browser: headless Chromium loads report.html from
// a workspace, and the dumped DOM must hold the report while stderr holds no
// console message. A page with a deliberate script error proves the check
// can fail. Skipped when Chromium is not installed (Debian package chromium,
// scripts/install-deps.sh installs it; QUANTPIPE_CHROMIUM names another binary).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cli_runner.h"
#include "eval/report.h"

namespace qp::test {
namespace {

namespace fs = std::filesystem;

fs::path chromium_binary() {
  if (const char* env = std::getenv("QUANTPIPE_CHROMIUM")) return env;
  for (const char* candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (fs::exists(candidate)) return candidate;
  return {};
}

#define QP_REQUIRE_CHROMIUM()                                                               \
  do {                                                                                      \
    if (chromium_binary().empty())                                                          \
      GTEST_SKIP() << "chromium is not installed (apt-get install chromium, or set "        \
                      "QUANTPIPE_CHROMIUM): skipping the browser check of the HTML report"; \
  } while (0)

struct BrowserRun {
  CliResult result;
  std::vector<std::string> console;  // console messages and uncaught errors from stderr
};

// Loads `page` in headless Chromium (at most 30 s) and dumps its DOM to stdout.
BrowserRun load_in_chromium(const fs::path& page) {
  TempDir profile;
  BrowserRun run;
  run.result = run_program({"/usr/bin/timeout", "-s", "KILL", "30", chromium_binary().string(),
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            "--enable-logging=stderr", "--v=0", "--user-data-dir=" + profile.path().string(),
                            "--dump-dom", "file://" + fs::absolute(page).string()});
  for (const std::string& line : split_lines(run.result.err))
    if (contains(line, ":CONSOLE") || contains(line, "Uncaught")) run.console.push_back(line);
  return run;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(ReportChromium, RendersTheSampleReportWithoutConsoleErrors) {
  QP_REQUIRE_CHROMIUM();
  TempDir workspace;
  fs::create_directories(workspace.path() / "comparisons");
  for (const char* name : {"sample_comparison.json", "sample_similarity_comparison.json"})
    fs::copy_file(source_dir() / "tests/golden/report" / name, workspace.path() / "comparisons" / name);
  const eval::ReportFiles files = eval::write_reports(workspace.path());
  ASSERT_EQ(files.documents, 2u);

  const BrowserRun run = load_in_chromium(files.html);
  ASSERT_EQ(run.result.exit_code, 0) << run.result;
  const std::string& dom = run.result.out;
  EXPECT_TRUE(contains(dom, "<title>quantpipe report</title>")) << dom.substr(0, 2000);
  EXPECT_TRUE(contains(dom, "<table>"));
  EXPECT_TRUE(contains(dom, "<svg"));
  EXPECT_TRUE(contains(dom, "minilm-l6-genre"));
  EXPECT_TRUE(contains(dom, "genre: accuracy vs model size"));
  EXPECT_TRUE(contains(dom, "fails by 1.31 points"));
  EXPECT_TRUE(contains(dom, "</html>"));
  EXPECT_TRUE(run.console.empty()) << "console messages:\n" << run.result.err;
  EXPECT_FALSE(contains(read_text(files.html), "<script"));
}

TEST(ReportChromium, DetectsAPageWithAScriptError) {
  QP_REQUIRE_CHROMIUM();
  TempDir dir;
  const fs::path page = dir.path() / "broken.html";
  std::ofstream(page) << "<!DOCTYPE html><html><head><title>broken</title></head><body><p>x</p>"
                         "<script>no_such_function();</script></body></html>";
  const BrowserRun run = load_in_chromium(page);
  ASSERT_EQ(run.result.exit_code, 0) << run.result;
  EXPECT_TRUE(contains(run.result.out, "<title>broken</title>"));
  ASSERT_FALSE(run.console.empty()) << "the deliberate script error went unnoticed:\n" << run.result.err;
  EXPECT_TRUE(contains(run.console.front(), "no_such_function")) << run.console.front();
}

}  // namespace
}  // namespace qp::test
