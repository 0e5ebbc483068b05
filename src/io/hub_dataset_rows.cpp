#include "io/hub_dataset_rows.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_read.h"

namespace qp {
namespace {

// The viewer serves at most this many rows a request.
constexpr int64_t kPageRows = 100;

std::string url_escape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789ABCDEF";
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string describe(const HubDatasetSplit& s) {
  return cat("dataset ", s.dataset, s.config.empty() ? "" : " config " + s.config, " split ", s.split);
}

nlohmann::json parse_answer(const HttpResponse& response, const std::string& what) {
  // parse_json: the depth limit too, since the rows are copied and dumped recursively.
  return parse_json(response.body, "[hub] " + what + ": the dataset viewer's answer");
}

// The config holding the split, from /splits, when the dataset config names none.
std::string config_of_split(const HubClient& client, const std::string& server,
                            const HubDatasetSplit& split) {
  const std::string what = describe(split);
  const nlohmann::json answer =
      parse_answer(client.get(cat(server, "/splits?dataset=", url_escape(split.dataset)), what), what);
  std::vector<std::string> configs, all;
  try {
    for (const auto& entry : answer.at("splits")) {
      const std::string config = entry.at("config").get<std::string>();
      all.push_back(cat(config, "/", entry.at("split").get<std::string>()));
      if (entry.at("split").get<std::string>() == split.split) configs.push_back(config);
    }
  } catch (const std::exception& e) {
    fail("[hub] ", what, ": the dataset viewer's /splits answer is not what it documents (", e.what(), ")");
  }
  std::string listing;
  for (const std::string& s : all) listing += cat(listing.empty() ? "" : ", ", s);
  if (configs.empty())
    fail("[hub] ", what, ": no such split; the viewer lists ", listing.empty() ? "none" : listing);
  if (configs.size() > 1)
    fail("[hub] ", what, ": several configs have this split (", listing,
         "); name one with `subset:` in the dataset config");
  return configs[0];
}

}  // namespace

std::string datasets_server_from_env() {
  if (const char* server = std::getenv("QUANTPIPE_DATASETS_SERVER"); server && *server) return server;
  if (const char* endpoint = std::getenv("HF_ENDPOINT"); endpoint && *endpoint) {
    std::string e = endpoint;
    while (!e.empty() && e.back() == '/') e.pop_back();
    if (e != "https://huggingface.co") return e;
  }
  return "https://datasets-server.huggingface.co";
}

FetchedSplit fetch_dataset_split(const HubClient& client, const std::string& server,
                                 const HubDatasetSplit& split, const std::filesystem::path& jsonl,
                                 const std::function<void(int64_t, int64_t)>& progress) {
  HubDatasetSplit s = split;
  if (s.config.empty()) s.config = config_of_split(client, server, s);
  const std::string what = describe(s);
  FetchedSplit fetched;
  fetched.config = s.config;
  std::filesystem::create_directories(jsonl.parent_path());
  AtomicFile out(jsonl);
  for (int64_t offset = 0, total = -1; total < 0 || offset < total;) {
    const std::string url =
        cat(server, "/rows?dataset=", url_escape(s.dataset), "&config=", url_escape(s.config),
            "&split=", url_escape(s.split), "&offset=", offset, "&length=", kPageRows);
    const nlohmann::json page = parse_answer(client.get(url, what), what);
    try {
      total = page.at("num_rows_total").get<int64_t>();
      const auto& rows = page.at("rows");
      if (rows.empty() && offset < total)
        fail("[hub] ", what, ": the viewer sent no rows at offset ", offset, " of ", total);
      for (const auto& row : rows) {
        if (row.at("row_idx").get<int64_t>() != offset)
          fail("[hub] ", what, ": expected row ", offset, ", the viewer sent row ",
               row.at("row_idx").get<int64_t>());
        out.write(row.at("row").dump() + "\n");
        if (row.contains("truncated_cells") && !row["truncated_cells"].empty()) ++fetched.truncated;
        ++offset;
      }
    } catch (const nlohmann::json::exception& e) {
      fail("[hub] ", what, ": a /rows page is not what the viewer documents (", e.what(), ")");
    }
    fetched.rows = offset;
    if (progress) progress(offset, total);
  }
  out.commit();
  return fetched;
}

}  // namespace qp
