// Reading a JSON object from a file when a missing or broken file is an
// expected state (workspace files another process may be writing), not an error.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

namespace qp {

// The file's top-level object; nullopt when it is absent, unreadable, not
// JSON, or not an object.
std::optional<nlohmann::json> read_json_object(const std::filesystem::path& path);

}  // namespace qp
