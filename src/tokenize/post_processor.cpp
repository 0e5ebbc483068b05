#include "tokenize/post_processor.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_fields.h"

namespace qp::tok {

namespace {

size_t count_special(const std::vector<TemplatePiece>& pieces) {
  size_t n = 0;
  for (const auto& p : pieces)
    if (p.sequence < 0) n += p.ids.size();
  return n;
}

// Special token ids one template may add to an encoding; real ones add two
// to four, and each model input has a few hundred to a few thousand tokens.
constexpr size_t kMaxTemplateSpecialIds = 1024;

// One template ("single" or "pair") of TemplateProcessing.
std::vector<TemplatePiece> parse_template(const JsonFields& spec, const std::string& key,
                                          const JsonFields& specials) {
  std::vector<TemplatePiece> pieces;
  const nlohmann::json& items = spec.array(key);
  size_t special_ids = 0;  // across the template: each reference copies its token's ids
  for (size_t i = 0; i < items.size(); ++i) {
    const JsonFields item(items[i], spec.file(), cat(spec.key_path(key), "[", i, "]"));
    TemplatePiece piece;
    if (const auto seq = item.object_if_present("Sequence")) {
      const std::string id = seq->string("id");
      if (id != "A" && id != "B") seq->error("id", "is ", json_excerpt(id), ", expected \"A\" or \"B\"");
      piece.sequence = id == "A" ? 0 : 1;
      piece.type_id = static_cast<int32_t>(seq->integer_or("type_id", 0, 0, 255));
    } else if (const auto sp = item.object_if_present("SpecialToken")) {
      const std::string id = sp->string("id");
      if (!specials.has(id))
        sp->error("id", "names special token ", json_excerpt(id), ", which is not in ",
                  specials.key_path(""));
      const JsonFields def = specials.object(id);
      special_ids += def.array("ids").size();
      if (special_ids > kMaxTemplateSpecialIds)
        fail(spec.file(), ": key '", spec.key_path(key), "' adds more than ", kMaxTemplateSpecialIds,
             " special token ids to every encoding");
      for (const nlohmann::json& token : def.array("ids"))
        piece.ids.push_back(static_cast<int32_t>(def.integer_value(token, "ids[]", 0, kMaxTokenId)));
      piece.type_id = static_cast<int32_t>(sp->integer_or("type_id", 0, 0, 255));
    } else {
      fail(item.file(), ": key '", item.key_path(""), "' is ", json_excerpt(items[i]),
           ", expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

// BertProcessing / RobertaProcessing: "cls": ["[CLS]", 101].
int32_t pair_id(const JsonFields& spec, const char* key) {
  const nlohmann::json& pair = spec.array(key);
  if (pair.size() != 2) spec.wrong_type(key, pair, "[token, id]");
  return static_cast<int32_t>(spec.integer_value(pair[1], cat(key, "[1]"), 0, kMaxTokenId));
}

}  // namespace

PostProcessor::PostProcessor() : single_{{0, {}, 0}}, pair_{{0, {}, 0}, {1, {}, 1}} {}

PostProcessor::PostProcessor(std::vector<TemplatePiece> single, std::vector<TemplatePiece> pair)
    : single_(std::move(single)), pair_(std::move(pair)) {}

PostProcessor PostProcessor::bert(int32_t cls_id, int32_t sep_id) {
  return PostProcessor({{-1, {cls_id}, 0}, {0, {}, 0}, {-1, {sep_id}, 0}},
                       {{-1, {cls_id}, 0}, {0, {}, 0}, {-1, {sep_id}, 0}, {1, {}, 1}, {-1, {sep_id}, 1}});
}

PostProcessor PostProcessor::roberta(int32_t cls_id, int32_t sep_id) {
  return PostProcessor(
      {{-1, {cls_id}, 0}, {0, {}, 0}, {-1, {sep_id}, 0}},
      {{-1, {cls_id}, 0}, {0, {}, 0}, {-1, {sep_id}, 0}, {-1, {sep_id}, 0}, {1, {}, 0}, {-1, {sep_id}, 0}});
}

size_t PostProcessor::added_tokens(bool is_pair) const { return count_special(is_pair ? pair_ : single_); }

Encoding PostProcessor::apply(const std::vector<int32_t>& a, const std::vector<int32_t>* b) const {
  const auto& pieces = b ? pair_ : single_;
  Encoding out;
  const size_t total = a.size() + (b ? b->size() : 0) + added_tokens(b != nullptr);
  out.input_ids.reserve(total);
  out.token_type_ids.reserve(total);
  for (const auto& p : pieces) {
    const std::vector<int32_t>& ids = p.sequence < 0 ? p.ids : (p.sequence == 0 ? a : *b);
    out.input_ids.insert(out.input_ids.end(), ids.begin(), ids.end());
    out.token_type_ids.insert(out.token_type_ids.end(), ids.size(), p.type_id);
  }
  out.attention_mask.assign(out.input_ids.size(), 1);
  return out;
}

namespace {

PostProcessor template_from_json(const JsonFields& spec) {
  const JsonFields specials = spec.object("special_tokens");
  return PostProcessor(parse_template(spec, "single", specials), parse_template(spec, "pair", specials));
}

// ByteLevel only trims offsets: the ids pass unchanged.
PostProcessor byte_level_from_json(const JsonFields&) { return PostProcessor(); }

PostProcessor sequence_from_json(const JsonFields& spec);

struct PostProcessorKind {
  const char* type;
  PostProcessor (*make)(const JsonFields&);
  bool adds_tokens;
};
constexpr PostProcessorKind kPostProcessors[] = {
    {"TemplateProcessing", template_from_json, true},
    {"BertProcessing",
     [](const JsonFields& s) { return PostProcessor::bert(pair_id(s, "cls"), pair_id(s, "sep")); }, true},
    {"RobertaProcessing",
     [](const JsonFields& s) { return PostProcessor::roberta(pair_id(s, "cls"), pair_id(s, "sep")); }, true},
    {"ByteLevel", byte_level_from_json, false},
    {"Sequence", sequence_from_json, true},
};

const PostProcessorKind& kind_of(const JsonFields& spec) {
  const std::string type = spec.string_or("type", "");
  const auto* kind = std::find_if(std::begin(kPostProcessors), std::end(kPostProcessors),
                                  [&](const PostProcessorKind& k) { return type == k.type; });
  if (kind == std::end(kPostProcessors)) {
    std::string names;
    for (const auto& k : kPostProcessors) names += std::string(names.empty() ? "" : ", ") + k.type;
    spec.error("type", "is ", json_excerpt(type), ", an unsupported post-processor (supported: ", names, ")");
  }
  return *kind;
}

// Steps run in order; only one of them may add special tokens (ByteLevel + a template,
// as ModernBERT-style files have), since ids are all that is kept.
PostProcessor sequence_from_json(const JsonFields& spec) {
  const nlohmann::json& list = spec.array("processors");
  std::optional<PostProcessor> chosen;
  for (size_t i = 0; i < list.size(); ++i) {
    const JsonFields step(list[i], spec.file(), cat(spec.key_path("processors"), "[", i, "]"));
    const PostProcessorKind& kind = kind_of(step);
    if (!kind.adds_tokens) continue;
    if (chosen)
      step.error("type", "is a second post-processor that adds special tokens, which is not supported");
    chosen = kind.make(step);
  }
  return chosen ? std::move(*chosen) : PostProcessor();
}

}  // namespace

PostProcessor make_post_processor(const JsonFields& spec) { return kind_of(spec).make(spec); }

int32_t PostProcessor::max_id() const {
  int32_t max = -1;
  for (const auto* pieces : {&single_, &pair_})
    for (const TemplatePiece& p : *pieces)
      for (int32_t id : p.ids) max = std::max(max, id);
  return max;
}

bool PostProcessor::adds_id(int32_t id) const {
  for (const auto* pieces : {&single_, &pair_})
    for (const TemplatePiece& p : *pieces)
      if (std::find(p.ids.begin(), p.ids.end(), id) != p.ids.end()) return true;
  return false;
}

}  // namespace qp::tok
