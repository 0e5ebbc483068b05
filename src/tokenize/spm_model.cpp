// Fallbacks for SentencePiece models without tokenizer.json, read with
// libsentencepiece (the reference implementation: pieces, scores, piece types),
// built into the pipelines transformers 5 builds from them:
//  - spm.model (DebertaV2Tokenizer): [Lowercase,] Replace(\s{2,}|[\n\r\t] → " "),
//    NFC, right Strip; [Punctuation,] Metaspace (always, or first without
//    add_prefix_space); Unigram; [CLS] A [SEP] B:1 [SEP]:1.
//  - sentencepiece.bpe.model (XLMRobertaTokenizer): fairseq ids (<s> <pad> </s>
//    <unk>, then the pieces from the fourth on, then <mask>); Precompiled with the
//    model's charsmap; WhitespaceSplit + Metaspace; <s> A </s></s> B </s>; the
//    model's control pieces as special tokens.
#include <sentencepiece_processor.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenize/precompiled_charsmap.h"
#include "tokenize/spm_proto.h"
#include "tokenize/tokenizer_config.h"
#include "tokenize/unigram.h"

namespace qp::tok {

namespace {

// libsentencepiece reports most bad files in its status, but a few escape as
// exceptions from inside it (darts_clone's "zero-length key" for an empty
// piece, found by fuzz/spm_model_fuzz.cpp): both become one qp::Error.
void load_spm(sentencepiece::SentencePieceProcessor& sp, const std::filesystem::path& path) {
  sentencepiece::util::Status status;
  try {
    status = sp.Load(path.string());
  } catch (const std::exception& e) {
    fail(path.string(), ": not a SentencePiece model: ", e.what());
  }
  if (!status.ok()) fail(path.string(), ": not a SentencePiece model: ", status.ToString());
}

std::unique_ptr<Model> read_spm(const std::filesystem::path& path, const std::string& unk_token) {
  sentencepiece::SentencePieceProcessor sp;
  load_spm(sp, path);
  ScoredPieces pieces;
  std::optional<int32_t> unk_id;
  const int n = sp.GetPieceSize();
  pieces.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    pieces.emplace_back(sp.IdToPiece(i), static_cast<double>(sp.GetScore(i)));
    if (!unk_id && pieces.back().first == unk_token) unk_id = i;
  }
  if (!unk_id)
    for (int i = 0; i < n && !unk_id; ++i)
      if (sp.IsUnknown(i)) unk_id = i;
  if (!unk_id) fail(path.string(), ": no unknown piece ('", unk_token, "') in the SentencePiece model");
  // byte_fallback off even though DeBERTa-v3's model has <0xXX> pieces: transformers builds it so.
  return std::make_unique<Unigram>(std::move(pieces), unk_id, false, path.string());
}

// The JSON a tokenizer.json would hold for these steps, so the normal builders make them.
std::unique_ptr<Normalizer> deberta_normalizer(bool lowercase, const std::string& file) {
  nlohmann::json steps = nlohmann::json::array();
  if (lowercase) steps.push_back({{"type", "Lowercase"}});
  steps.push_back({{"type", "Replace"}, {"pattern", {{"Regex", "\\s{2,}|[\\n\\r\\t]"}}}, {"content", " "}});
  steps.push_back({{"type", "NFC"}});
  steps.push_back({{"type", "Strip"}, {"strip_left", false}, {"strip_right", true}});
  const nlohmann::json spec = {{"type", "Sequence"}, {"normalizers", steps}};
  return make_normalizer(JsonFields(spec, file, "(spm normalizer)"));
}

std::unique_ptr<PreTokenizer> deberta_pre_tokenizer(bool split_by_punct, bool add_prefix_space,
                                                    const std::string& file) {
  nlohmann::json steps = nlohmann::json::array();
  if (split_by_punct) steps.push_back({{"type", "Punctuation"}, {"behavior", "Isolated"}});
  steps.push_back({{"type", "Metaspace"},
                   {"replacement", "\u2581"},
                   {"prepend_scheme", add_prefix_space ? "always" : "first"},
                   {"split", true}});
  const nlohmann::json spec = {{"type", "Sequence"}, {"pretokenizers", steps}};
  return make_pre_tokenizer(JsonFields(spec, file, "(spm pre-tokenizer)"));
}

}  // namespace

TokenizerParts load_spm_model(const std::filesystem::path& dir) {
  try {
    const TokenizerConfig config(dir);
    const std::string cls = config.special("cls_token", "[CLS]");
    const std::string sep = config.special("sep_token", "[SEP]");
    const std::string unk = config.special("unk_token", "[UNK]");
    const std::string pad = config.special("pad_token", "[PAD]");
    const std::string mask = config.special("mask_token", "[MASK]");

    TokenizerParts parts;
    const auto path = dir / "spm.model";
    parts.model = read_spm(path, unk);
    parts.normalizer = deberta_normalizer(config.flag("do_lower_case", false), path.string());
    parts.pre_tokenizer = deberta_pre_tokenizer(config.flag("split_by_punct", false),
                                                config.flag("add_prefix_space", true), path.string());
    config.add_declared_tokens(parts.normalizer.get(), parts.added_tokens);
    add_special_tokens({pad, cls, sep, unk, mask}, *parts.model, parts.added_tokens);
    const int32_t cls_id = find_token_id(parts, cls);
    const int32_t sep_id = find_token_id(parts, sep);
    if (cls_id < 0 || sep_id < 0) fail("special tokens '", cls, "' / '", sep, "' are not in ", path.string());
    parts.post_processor = PostProcessor::bert(cls_id, sep_id);
    parts.truncation = std::nullopt;  // transformers truncates only when asked
    parts.pad_id = std::max(find_token_id(parts, pad), 0);
    return parts;
  } catch (const Error& e) {
    fail("[tokenizer] ", e.what());
  }
}

TokenizerParts load_xlmr_spm(const std::filesystem::path& dir) {
  try {
    const TokenizerConfig config(dir);
    const std::string bos = config.special("bos_token", "<s>");
    const std::string eos = config.special("eos_token", "</s>");
    const std::string unk = config.special("unk_token", "<unk>");
    const std::string pad = config.special("pad_token", "<pad>");
    const std::string mask = config.special("mask_token", "<mask>");
    const auto path = dir / "sentencepiece.bpe.model";
    sentencepiece::SentencePieceProcessor sp;
    load_spm(sp, path);

    // fairseq's dictionary: four specials, the spm pieces from id 3 on shifted by one, <mask> last.
    ScoredPieces pieces = {{bos, 0.0}, {pad, 0.0}, {eos, 0.0}, {unk, 0.0}};
    for (int i = 3; i < sp.GetPieceSize(); ++i)
      pieces.emplace_back(sp.IdToPiece(i), static_cast<double>(sp.GetScore(i)));
    pieces.emplace_back(mask, 0.0);

    TokenizerParts parts;
    parts.model = std::make_unique<Unigram>(std::move(pieces), 3, false, path.string());
    const std::string charsmap = spm_precompiled_charsmap(sp.serialized_model_proto(), path.string());
    if (!charsmap.empty()) parts.normalizer = make_precompiled(charsmap, path.string());
    const nlohmann::json pre = {
        {"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "WhitespaceSplit"}},
          {{"type", "Metaspace"},
           {"replacement", "\u2581"},
           {"prepend_scheme", config.flag("add_prefix_space", true) ? "always" : "never"},
           {"split", true}}}}};
    parts.pre_tokenizer = make_pre_tokenizer(JsonFields(pre, path.string(), "(spm pre-tokenizer)"));

    add_special_tokens({bos, pad, eos, unk, mask}, *parts.model, parts.added_tokens);
    config.add_declared_tokens(parts.normalizer.get(), parts.added_tokens);
    std::vector<std::string> controls;
    for (int i = 0; i < sp.GetPieceSize(); ++i)
      if (sp.IsControl(i)) controls.push_back(sp.IdToPiece(i));
    add_new_special_tokens(controls, *parts.model, parts.added_tokens);

    const int32_t bos_id = find_token_id(parts, bos);
    const int32_t eos_id = find_token_id(parts, eos);
    parts.post_processor = PostProcessor::roberta(bos_id, eos_id);
    parts.pad_id = std::max(find_token_id(parts, pad), 0);
    return parts;
  } catch (const Error& e) {
    fail("[tokenizer] ", e.what());
  }
}

}  // namespace qp::tok
