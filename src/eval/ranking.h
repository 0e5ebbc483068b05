// The order rerankers print their results in, shared by `quantpipe rerank`
// and serve's /rerank: highest score first, ties in input order, missing
// (non-finite) scores last.
#pragma once

#include <optional>
#include <vector>

namespace qp::eval {

std::vector<size_t> order_by_score(const std::vector<std::optional<float>>& scores);

}  // namespace qp::eval
