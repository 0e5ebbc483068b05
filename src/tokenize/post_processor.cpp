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

// One template ("single" or "pair") of TemplateProcessing.
std::vector<TemplatePiece> parse_template(const JsonFields& spec, const std::string& key,
                                          const JsonFields& specials) {
  std::vector<TemplatePiece> pieces;
  const nlohmann::json& items = spec.array(key);
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

PostProcessor make_post_processor(const JsonFields& spec) {
  const std::string type = spec.string_or("type", "");
  if (type == "TemplateProcessing") {
    const JsonFields specials = spec.object("special_tokens");
    return PostProcessor(parse_template(spec, "single", specials), parse_template(spec, "pair", specials));
  }
  if (type == "BertProcessing") return PostProcessor::bert(pair_id(spec, "cls"), pair_id(spec, "sep"));
  if (type == "RobertaProcessing") return PostProcessor::roberta(pair_id(spec, "cls"), pair_id(spec, "sep"));
  spec.error(
      "type", "is ", json_excerpt(type),
      ", an unsupported post-processor (supported: TemplateProcessing, BertProcessing, RobertaProcessing)");
}

int32_t PostProcessor::max_id() const {
  int32_t max = -1;
  for (const auto* pieces : {&single_, &pair_})
    for (const TemplatePiece& p : *pieces)
      for (int32_t id : p.ids) max = std::max(max, id);
  return max;
}

}  // namespace qp::tok
