#include "tokenize/bpe.h"

#include <cstdio>
#include <mutex>
#include <queue>

#include "core/error.h"

namespace qp::tok {

Bpe::Bpe(Vocab vocab, const Merges& merges, BpeOptions options, const std::string& source)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
  tokens_ = invert_vocab(vocab_, source);
  if (options_.unk_token) {
    unk_id_ = token_to_id(*options_.unk_token);
    if (unk_id_ < 0) fail(source, ": BPE unk_token '", *options_.unk_token, "' is not in the vocabulary");
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    byte_ids_[b] = token_to_id(name);
  }
  const size_t prefix_len = options_.continuing_subword_prefix.size();
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    const int32_t a_id = token_to_id(a);
    const int32_t b_id = token_to_id(b);
    if (a_id < 0 || b_id < 0)
      fail(source, ": merge ", rank + 1, " (\"", a, " ", b, "\") names token '", a_id < 0 ? a : b,
           "', which is not in the vocabulary");
    const std::string merged = a + (b.size() >= prefix_len ? b.substr(prefix_len) : b);
    const int32_t id = token_to_id(merged);
    if (id < 0)
      fail(source, ": merge ", rank + 1, " (\"", a, " ", b, "\") makes '", merged,
           "', which is not in the vocabulary");
    // A pair listed twice keeps its last rank, as HF's map does.
    merges_.insert_or_assign(pair_key(a_id, b_id), Merge{static_cast<int32_t>(rank), id});
  }
}

int32_t Bpe::token_to_id(std::string_view token) const {
  const auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

const std::string* Bpe::id_to_token(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < tokens_.size() ? tokens_[id] : nullptr;
}

// One symbol per character of s.utf8 (already split into s.offsets), into s.symbols.
void Bpe::initial_symbols(ModelScratch& s) const {
  s.symbols.clear();
  const size_t n = s.offsets.size() - 1;
  int32_t pending_unk = -1;  // an unknown run not yet emitted (for fuse_unk)
  for (size_t i = 0; i < n; ++i) {
    const std::string_view ch(s.utf8.data() + s.offsets[i], s.offsets[i + 1] - s.offsets[i]);
    s.candidate.clear();
    if (i > 0) s.candidate.append(options_.continuing_subword_prefix);
    s.candidate.append(ch);
    if (i + 1 == n) s.candidate.append(options_.end_of_word_suffix);
    const int32_t id = token_to_id(s.candidate);
    if (id >= 0) {
      if (pending_unk >= 0) s.symbols.push_back(pending_unk);
      pending_unk = -1;
      s.symbols.push_back(id);
      continue;
    }
    if (options_.byte_fallback) {
      bool all = true;
      for (unsigned char c : s.candidate) all = all && byte_ids_[c] >= 0;
      if (all) {
        for (unsigned char c : s.candidate) s.symbols.push_back(byte_ids_[c]);
        continue;
      }
    }
    if (unk_id_ < 0) continue;  // no unknown token: the character is dropped, as in HF
    if (pending_unk >= 0 && !options_.fuse_unk) s.symbols.push_back(pending_unk);
    pending_unk = unk_id_;
  }
  if (pending_unk >= 0) s.symbols.push_back(pending_unk);
}

// Lowest rank first, leftmost among equals (the order of HF's merge queue), with a heap
// of candidate pairs over a linked list of symbols: O(n log n) for long words (a CJK run).
void Bpe::merge_all(std::vector<int32_t>& symbols) const {
  const int n = static_cast<int>(symbols.size());
  if (n < 2) return;
  struct Candidate {
    int32_t rank;
    int pos;
    int32_t id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::vector<int> prev(n), next(n);
  std::vector<char> alive(n, 1);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push = [&](int left) {
    if (left < 0 || next[left] < 0) return;
    const auto it = merges_.find(pair_key(symbols[left], symbols[next[left]]));
    if (it != merges_.end()) queue.push({it->second.rank, left, it->second.id});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    const int right = alive[top.pos] ? next[top.pos] : -1;
    if (right < 0) continue;
    // Stale entry: the pair at pos changed since it was queued.
    const auto it = merges_.find(pair_key(symbols[top.pos], symbols[right]));
    if (it == merges_.end() || it->second.id != top.id) continue;
    symbols[top.pos] = top.id;
    alive[right] = 0;
    next[top.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = top.pos;
    push(prev[top.pos]);
    push(top.pos);
  }
  int w = 0;
  for (int i = 0; i >= 0; i = next[i]) symbols[w++] = symbols[i];
  symbols.resize(static_cast<size_t>(w));
}

void Bpe::tokenize(std::u32string_view word, std::vector<int32_t>& ids, ModelScratch& s) const {
  if (word.empty()) return;
  encode_word_utf8(word, s);
  if (options_.ignore_merges) {
    if (const int32_t id = token_to_id(s.utf8); id >= 0) {
      ids.push_back(id);
      return;
    }
  }
  {
    std::shared_lock lock(cache_mutex_);
    if (const auto it = cache_.find(s.utf8); it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  initial_symbols(s);
  merge_all(s.symbols);
  ids.insert(ids.end(), s.symbols.begin(), s.symbols.end());
  std::unique_lock lock(cache_mutex_);
  if (cache_.size() < kCacheCapacity) cache_.try_emplace(s.utf8, s.symbols);
}

std::unique_ptr<Model> make_bpe(const JsonFields& spec, Vocab* read_ahead) {
  BpeOptions o;
  if (spec.has("unk_token")) o.unk_token = spec.string("unk_token");
  o.continuing_subword_prefix = spec.string_or("continuing_subword_prefix", "");
  o.end_of_word_suffix = spec.string_or("end_of_word_suffix", "");
  o.fuse_unk = spec.boolean_or("fuse_unk", false);
  o.byte_fallback = spec.boolean_or("byte_fallback", false);
  o.ignore_merges = spec.boolean_or("ignore_merges", false);
  if (const nlohmann::json* dropout = spec.find("dropout");
      dropout && dropout->is_number() && dropout->get<double>() > 0)
    spec.error("dropout", "is ", json_excerpt(*dropout), ": BPE dropout is random, not supported");
  return std::make_unique<Bpe>(read_vocab_object(spec, "vocab", read_ahead), read_merges_json(spec),
                               std::move(o), cat(spec.file(), ": key '", spec.key_path("merges"), "'"));
}

}  // namespace qp::tok
