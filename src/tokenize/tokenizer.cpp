#include "quantpipe/tokenizer.h"

#include <algorithm>

#include "core/error.h"
#include "tokenize/tokenizer_impl.h"
#include "tokenize/unicode.h"

namespace qp {

namespace tok {

int32_t find_token_id(const TokenizerParts& parts, std::string_view token) {
  const std::u32string wanted = decode_utf8(token);
  for (const AddedToken& t : parts.added_tokens.tokens())
    if (t.raw_content == wanted) return t.id;
  return parts.model ? parts.model->token_to_id(token) : -1;
}

}  // namespace tok

struct Tokenizer::Impl : tok::TokenizerParts {
  explicit Impl(tok::TokenizerParts parts) : tok::TokenizerParts(std::move(parts)) {
    for (const tok::AddedToken& t : added_tokens.tokens())
      added_strings.emplace_back(t.id, tok::encode_utf8(t.raw_content));
  }

  std::vector<std::pair<int32_t, std::string>> added_strings;  // for id_to_token

  // Buffers reused across the pieces of one encode call.
  struct Scratch {
    std::u32string chars, piece, normalize;
    std::vector<tok::Segment> segments, inner;
    tok::Words words;
    tok::ModelScratch model;
  };

  // s.piece: text between added tokens, not yet normalized.
  void tokenize_piece(Scratch& s, bool starts_input, std::vector<int32_t>& ids) const {
    if (normalizer) normalizer->normalize(s.piece, s.normalize);
    s.inner.clear();
    added_tokens.split(s.piece, {0, s.piece.size()}, true, s.inner);
    for (const auto& seg : s.inner) {
      if (seg.id >= 0) {
        ids.push_back(seg.id);
        continue;
      }
      tok::Words& w = s.words;
      w.text.assign(s.piece, seg.span.first, seg.span.second - seg.span.first);
      w.spans.assign(1, {0, w.text.size()});
      w.starts_input = starts_input && seg.span.first == 0;
      if (pre_tokenizer) pre_tokenizer->split(w);
      const std::u32string_view view(w.text);
      for (const auto& [b, e] : w.spans)
        if (b < e) model->tokenize(view.substr(b, e - b), ids, s.model);
    }
  }

  std::vector<int32_t> encode_sequence(std::string_view text, Scratch& s) const {
    std::vector<int32_t> ids;
    tok::decode_utf8(text, s.chars);
    s.segments.clear();
    added_tokens.split(s.chars, {0, s.chars.size()}, false, s.segments);
    for (const auto& seg : s.segments) {
      if (seg.id >= 0) {
        ids.push_back(seg.id);
        continue;
      }
      s.piece.assign(s.chars, seg.span.first, seg.span.second - seg.span.first);
      tokenize_piece(s, seg.span.first == 0, ids);
    }
    return ids;
  }
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_tokenizer_json(const std::filesystem::path& path) {
  return Tokenizer(std::make_unique<Impl>(tok::load_tokenizer_json(path)));
}

namespace {

// The files each loader needs, in the order they are preferred.
struct Loader {
  const char* files[2];
  tok::TokenizerParts (*load)(const std::filesystem::path& dir);
};
const Loader kFallbacks[] = {
    {{"vocab.txt", nullptr}, tok::load_vocab_txt},
    {{"vocab.json", "merges.txt"}, tok::load_vocab_json_merges},
    {{"spm.model", nullptr}, tok::load_spm_model},
    {{"sentencepiece.bpe.model", nullptr}, tok::load_xlmr_spm},
};

}  // namespace

Tokenizer Tokenizer::from_dir(const std::filesystem::path& dir) {
  if (std::filesystem::exists(dir / "tokenizer.json")) return from_tokenizer_json(dir / "tokenizer.json");
  for (const Loader& loader : kFallbacks) {
    const bool all = std::all_of(std::begin(loader.files), std::end(loader.files),
                                 [&](const char* f) { return !f || std::filesystem::exists(dir / f); });
    if (all) return Tokenizer(std::make_unique<Impl>(loader.load(dir)));
  }
  fail("[tokenizer] ", dir.string(),
       ": neither tokenizer.json nor vocab.txt, vocab.json + merges.txt, spm.model or "
       "sentencepiece.bpe.model is there");
}

Encoding Tokenizer::encode(std::string_view text, std::optional<std::string_view> pair,
                           int max_length) const {
  Impl::Scratch scratch;
  std::vector<int32_t> a = impl_->encode_sequence(text, scratch);
  std::vector<int32_t> b;
  if (pair) b = impl_->encode_sequence(*pair, scratch);
  std::vector<int32_t>* b_ptr = pair ? &b : nullptr;

  std::optional<tok::Truncation> trunc = impl_->truncation;
  if (max_length > 0) {
    if (!trunc) trunc.emplace();
    trunc->max_length = max_length;
  }
  if (trunc) {
    const int added = static_cast<int>(impl_->post_processor.added_tokens(pair.has_value()));
    if (trunc->max_length < added)
      fail("[tokenizer] max_length ", trunc->max_length, " leaves no room for the ", added,
           " special tokens");
    tok::truncate_pair(a, b_ptr, *trunc, trunc->max_length - added);
  }
  return impl_->post_processor.apply(a, b_ptr);
}

std::vector<int32_t> Tokenizer::encode_without_special_tokens(std::string_view text) const {
  Impl::Scratch scratch;
  return impl_->encode_sequence(text, scratch);
}

bool Tokenizer::is_special_token(int32_t id) const {
  if (id == impl_->pad_id || impl_->post_processor.adds_id(id)) return true;
  const auto& added = impl_->added_tokens.tokens();
  return std::any_of(added.begin(), added.end(),
                     [&](const tok::AddedToken& t) { return t.special && t.id == id; });
}

std::optional<int> Tokenizer::default_max_length() const {
  if (!impl_->truncation) return std::nullopt;
  return impl_->truncation->max_length;
}

int Tokenizer::pad_token_id() const { return impl_->pad_id; }

int32_t Tokenizer::token_to_id(std::string_view token) const { return tok::find_token_id(*impl_, token); }

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  for (const auto& [added_id, content] : impl_->added_strings)
    if (added_id == id) return content;
  if (const std::string* token = impl_->model->id_to_token(id)) return *token;
  return std::nullopt;
}

size_t Tokenizer::vocab_size() const { return impl_->model->size(); }

int32_t Tokenizer::max_token_id() const {
  return std::max(
      {impl_->model->max_id(), impl_->added_tokens.max_id(), impl_->post_processor.max_id(), impl_->pad_id});
}

void pad_to_longest(std::vector<Encoding>& batch, int32_t pad_id) {
  size_t longest = 0;
  for (const auto& e : batch) longest = std::max(longest, e.input_ids.size());
  for (auto& e : batch) {
    const size_t n = e.input_ids.size();
    e.attention_mask.resize(n, 1);
    e.token_type_ids.resize(n, 0);
    e.input_ids.resize(longest, pad_id);
    e.token_type_ids.resize(longest, 0);
    e.attention_mask.resize(longest, 0);
  }
}

}  // namespace qp
