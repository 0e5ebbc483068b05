#include "tokenize/unigram.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "quantpipe/tokenizer.h"
#include "tokenize/unicode.h"

namespace qp::tok {

namespace {
constexpr double kUnknownPenalty = 10.0;  // HF's K_UNK_PENALTY
}

Unigram::Unigram(ScoredPieces pieces, std::optional<int32_t> unk_id, bool byte_fallback,
                 const std::string& source)
    : pieces_(std::move(pieces)), unk_id_(unk_id), byte_fallback_(byte_fallback) {
  if (unk_id_ && (*unk_id_ < 0 || static_cast<size_t>(*unk_id_) >= pieces_.size()))
    fail(source, ": Unigram unk_id ", *unk_id_, " is outside the vocabulary of ", pieces_.size(), " pieces");
  double min_score = std::numeric_limits<double>::infinity();
  vocab_.reserve(pieces_.size());
  for (size_t i = 0; i < pieces_.size(); ++i) {
    vocab_.emplace(pieces_[i].first, static_cast<int32_t>(i));  // the first of duplicates wins
    min_score = std::min(min_score, pieces_[i].second);
    max_piece_chars_ = std::max(max_piece_chars_, decode_utf8(pieces_[i].first).size());
  }
  unk_score_ = (pieces_.empty() ? 0 : min_score) - kUnknownPenalty;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    byte_ids_[b] = token_to_id(name);
  }
}

int32_t Unigram::token_to_id(std::string_view token) const {
  const auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

const std::string* Unigram::id_to_token(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < pieces_.size() ? &pieces_[id].first : nullptr;
}

void Unigram::emit_unknown(std::string_view text, std::vector<int32_t>& ids) const {
  if (byte_fallback_) {
    bool all = true;
    for (unsigned char c : text) all = all && byte_ids_[c] >= 0;
    if (all) {
      for (unsigned char c : text) ids.push_back(byte_ids_[c]);
      return;
    }
  }
  if (!unk_id_) fail("[tokenizer] the Unigram model has no unk_id, needed for '", std::string(text), "'");
  ids.push_back(*unk_id_);
}

void Unigram::tokenize(std::u32string_view word, std::vector<int32_t>& ids, ModelScratch& s) const {
  if (word.empty()) return;
  encode_word_utf8(word, s);
  const size_t n = word.size();
  // best[i]: score of the best path over the first i characters; back[i]: its last piece's start
  // (char index) and symbols[i] its id (-2: none yet).
  s.scores.assign(n + 1, 0.0);
  s.back.assign(n + 1, -1);
  s.symbols.assign(n + 1, -2);
  s.symbols[0] = -1;
  for (size_t start = 0; start < n; ++start) {
    if (s.symbols[start] == -2) continue;  // unreachable (cannot happen: unknowns bridge every char)
    const double here = s.scores[start];
    bool single_char = false;
    const size_t last = std::min(n, start + max_piece_chars_);
    for (size_t end = start + 1; end <= last; ++end) {
      const std::string_view piece(s.utf8.data() + s.offsets[start], s.offsets[end] - s.offsets[start]);
      const int32_t id = token_to_id(piece);
      if (id < 0) continue;
      if (end == start + 1) single_char = true;
      const double candidate = here + pieces_[id].second;
      if (s.symbols[end] == -2 || candidate > s.scores[end]) {
        s.scores[end] = candidate;
        s.back[end] = static_cast<int32_t>(start);
        s.symbols[end] = id;
      }
    }
    if (!single_char) {
      const double candidate = here + unk_score_;
      if (s.symbols[start + 1] == -2 || candidate > s.scores[start + 1]) {
        s.scores[start + 1] = candidate;
        s.back[start + 1] = static_cast<int32_t>(start);
        s.symbols[start + 1] = unk_id_.value_or(-3);
      }
    }
  }
  // Walk back from the end, then emit in order with unknown runs fused.
  std::vector<std::pair<size_t, int32_t>> path;  // (start char, id)
  for (size_t end = n; end > 0; end = static_cast<size_t>(s.back[end]))
    path.emplace_back(static_cast<size_t>(s.back[end]), s.symbols[end]);
  std::reverse(path.begin(), path.end());
  const int32_t unk = unk_id_.value_or(-3);
  for (size_t i = 0; i < path.size();) {
    const auto [start, id] = path[i];
    if (id != unk) {
      ids.push_back(id);
      ++i;
      continue;
    }
    size_t j = i;
    while (j < path.size() && path[j].second == unk) ++j;
    const size_t stop = j < path.size() ? path[j].first : n;
    const std::string_view run(s.utf8.data() + s.offsets[start], s.offsets[stop] - s.offsets[start]);
    // A run that spells a piece (the unknown piece itself, matched literally) keeps its id.
    if (const int32_t known = token_to_id(run); known >= 0)
      ids.push_back(known);
    else
      emit_unknown(run, ids);
    i = j;
  }
}

std::unique_ptr<Model> make_unigram(const JsonFields& spec,
                                    Vocab* /*read_ahead: a Unigram vocab is an array, never taken ahead*/) {
  const nlohmann::json& list = spec.array("vocab");
  ScoredPieces pieces;
  pieces.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const nlohmann::json& item = list[i];
    if (!item.is_array() || item.size() != 2 || !item[0].is_string() || !item[1].is_number())
      fail(spec.file(), ": key '", spec.key_path("vocab"), "[", i, "]' is ", json_excerpt(item),
           ", expected [\"piece\", score]");
    pieces.emplace_back(item[0].get<std::string>(), item[1].get<double>());
  }
  std::optional<int32_t> unk_id;
  if (spec.has("unk_id")) unk_id = static_cast<int32_t>(spec.integer("unk_id", 0, kMaxTokenId));
  return std::make_unique<Unigram>(std::move(pieces), unk_id, spec.boolean_or("byte_fallback", false),
                                   cat(spec.file(), ": key '", spec.key_path("unk_id"), "'"));
}

}  // namespace qp::tok
