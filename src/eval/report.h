// Reports: the workspace's per-model comparison documents
// (comparisons/<model>_comparison.json, written by the pipeline; the fields
// read are listed in report_data.h) rendered for people as Markdown and as one self-contained
// HTML page (inline CSS and SVG charts, no scripts, no external URLs).
// Renderers never throw on a partial document: a missing field shows as "–".
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace qp::eval {

std::string render_markdown(const std::vector<nlohmann::json>& model_docs);
std::string render_html(const std::vector<nlohmann::json>& model_docs);

struct ReportFiles {
  std::filesystem::path markdown;  // workspace/report.md
  std::filesystem::path html;      // workspace/report.html
  size_t documents = 0;            // comparison documents read
};

// Reads every workspace/comparisons/*.json (in name order) and writes
// report.md and report.html atomically. A file that is not a JSON object
// throws qp::Error naming it; no comparisons yet gives a report that says so.
ReportFiles write_reports(const std::filesystem::path& workspace);

}  // namespace qp::eval
