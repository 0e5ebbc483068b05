// write_reports: reads the workspace's comparison documents and writes the
// Markdown and HTML reports beside them, atomically.
#include "eval/report.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace qp::eval {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_document(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("[report] ", path.string(), ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) fail("[report] ", path.string(), ": not valid JSON");
  if (!doc.is_object())
    fail("[report] ", path.string(), ": not a comparison document (expected a JSON object)");
  return doc;
}

std::vector<fs::path> comparison_files(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

ReportFiles write_reports(const fs::path& workspace) {
  std::vector<nlohmann::json> docs;
  for (const fs::path& file : comparison_files(workspace / "comparisons"))
    docs.push_back(read_document(file));
  ReportFiles files{workspace / "report.md", workspace / "report.html", docs.size()};
  write_file_atomic(files.markdown, render_markdown(docs));
  write_file_atomic(files.html, render_html(docs));
  return files;
}

}  // namespace qp::eval
