// Fallback for byte-level BPE models without tokenizer.json (GPT-2, RoBERTa,
// BART): vocab.json + merges.txt and tokenizer_config.json give what
// transformers builds: ByteLevel (add_prefix_space from the config), BPE
// without an unknown token, the special tokens, and <s> A </s></s> B </s>
// (RoBERTa / BART; none for GPT-2).
#include "core/error.h"
#include "tokenize/bpe.h"
#include "tokenize/byte_level.h"
#include "tokenize/tokenizer_config.h"
#include "tokenize/vocab_read.h"

namespace qp::tok {

TokenizerParts load_vocab_json_merges(const std::filesystem::path& dir) {
  try {
    const TokenizerConfig config(dir);
    const std::string cls_class = config.string_or("tokenizer_class", "RobertaTokenizer");
    const bool gpt2 = cls_class.find("GPT2") != std::string::npos;
    const std::string bos = config.special("bos_token", gpt2 ? "<|endoftext|>" : "<s>");
    const std::string eos = config.special("eos_token", gpt2 ? "<|endoftext|>" : "</s>");
    const std::string cls = config.special("cls_token", bos.c_str());
    const std::string sep = config.special("sep_token", eos.c_str());
    const std::string unk = config.special("unk_token", gpt2 ? "<|endoftext|>" : "<unk>");
    const std::string pad = config.special("pad_token", gpt2 ? "" : "<pad>");
    const std::string mask = config.special("mask_token", gpt2 ? "" : "<mask>");

    TokenizerParts parts;
    const auto merges_path = dir / "merges.txt";
    parts.model =
        std::make_unique<Bpe>(read_vocab_json_file(dir / "vocab.json"), read_merges_txt_file(merges_path),
                              BpeOptions{}, merges_path.string());
    parts.pre_tokenizer = make_byte_level(config.flag("add_prefix_space", false), true);
    config.add_declared_tokens(nullptr, parts.added_tokens);
    add_special_tokens({bos, pad, eos, unk, cls, sep, mask}, *parts.model, parts.added_tokens);
    if (!gpt2) {
      const int32_t cls_id = parts.model->token_to_id(cls);
      const int32_t sep_id = parts.model->token_to_id(sep);
      if (cls_id < 0 || sep_id < 0)
        fail("special tokens '", cls, "' / '", sep, "' are not in ", (dir / "vocab.json").string());
      parts.post_processor = PostProcessor::roberta(cls_id, sep_id);
    }
    parts.truncation = config.truncation();
    parts.pad_id = std::max(find_token_id(parts, pad.empty() ? eos : pad), 0);
    return parts;
  } catch (const Error& e) {
    fail("[tokenizer] ", e.what());
  }
}

}  // namespace qp::tok
