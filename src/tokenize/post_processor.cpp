#include "tokenize/post_processor.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace qp::tok {

namespace {

size_t count_special(const std::vector<TemplatePiece>& pieces) {
  size_t n = 0;
  for (const auto& p : pieces)
    if (p.sequence < 0) n += p.ids.size();
  return n;
}

// One template ("single" or "pair") of TemplateProcessing.
std::vector<TemplatePiece> parse_template(const nlohmann::json& items, const nlohmann::json& specials) {
  std::vector<TemplatePiece> pieces;
  for (const auto& item : items) {
    TemplatePiece piece;
    if (const auto seq = item.find("Sequence"); seq != item.end()) {
      const std::string id = seq->at("id").get<std::string>();
      if (id != "A" && id != "B") fail("TemplateProcessing: sequence id '", id, "' is not A or B");
      piece.sequence = id == "A" ? 0 : 1;
      piece.type_id = seq->value("type_id", 0);
    } else if (const auto sp = item.find("SpecialToken"); sp != item.end()) {
      const std::string id = sp->at("id").get<std::string>();
      const auto def = specials.find(id);
      if (def == specials.end())
        fail("TemplateProcessing: special token '", id, "' is not in special_tokens");
      piece.ids = def->at("ids").get<std::vector<int32_t>>();
      piece.type_id = sp->value("type_id", 0);
    } else {
      fail("TemplateProcessing: template item ", item.dump(), " is neither Sequence nor SpecialToken");
    }
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

int32_t pair_id(const nlohmann::json& spec, const char* key) { return spec.at(key).at(1).get<int32_t>(); }

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

PostProcessor make_post_processor(const nlohmann::json& spec) {
  if (spec.is_null()) return PostProcessor();
  const std::string type = spec.value("type", "");
  if (type == "TemplateProcessing") {
    const auto& specials = spec.at("special_tokens");
    return PostProcessor(parse_template(spec.at("single"), specials),
                         parse_template(spec.at("pair"), specials));
  }
  if (type == "BertProcessing") return PostProcessor::bert(pair_id(spec, "cls"), pair_id(spec, "sep"));
  if (type == "RobertaProcessing") return PostProcessor::roberta(pair_id(spec, "cls"), pair_id(spec, "sep"));
  fail("unsupported post-processor type '", type,
       "' (supported: TemplateProcessing, BertProcessing, RobertaProcessing)");
}

}  // namespace qp::tok
