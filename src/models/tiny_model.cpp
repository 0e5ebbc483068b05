#include "models/tiny_model.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/half.h"
#include "core/tensor.h"
#include "io/model_dir.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "models/registry.h"
#include "models/tensor_table.h"

namespace qp {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kWords =
    "the of and to a in is it you that he was for on are with as i his they be at one have this from or had "
    "by "
    "not but what some we can out other were all there when up use your how said an each she which do their "
    "time if will way about many then them write would like so these her long make thing see him two has "
    "look "
    "more day could go come did number sound no most people my over know water than call first who may down "
    "side been now find any new work part take get place made live where after back little only round man "
    "year "
    "came show every good me give our under name very through just form sentence great think say help low "
    "line "
    "differ turn cause much mean before move right boy old too same tell does set three want air well also "
    "play "
    "small end put home read hand port large spell add even land here must big high such follow act why ask "
    "men "
    "change went light kind off need house picture try us again animal point mother world near build self "
    "earth "
    "father head stand own page should country found answer school grow study still learn plant cover food "
    "sun "
    "four between state keep eye never last let thought city tree cross farm hard start might story saw far "
    "sea "
    "draw left late run while press close night real life few north open seem together next white children "
    "begin "
    "walk example ease paper group always music those both mark often letter until mile river car feet care "
    "second book carry took science eat room friend began idea fish mountain stop once base hear horse cut "
    "sure "
    "watch color face wood main enough plain girl usual young ready above ever red list though feel talk "
    "bird "
    "soon body dog family direct pose leave song measure door product black short class wind question happen "
    "complete ship area half rock order fire south problem piece told knew pass since top whole king space "
    "heard "
    "best hour better true during hundred five remember step early hold west ground interest reach fast verb "
    "sing "
    "listen six table travel less morning ten simple several toward war lay against pattern slow center love "
    "person money serve appear road map rain rule govern pull cold notice voice unit power town fine certain "
    "fly "
    "fall lead dark machine note wait plan figure star box field rest able pound done beauty drive stood "
    "contain "
    "front teach week final gave green quick develop ocean warm free minute strong special mind behind clear "
    "tail "
    "produce fact street inch nothing course stay wheel full force blue object decide surface deep moon "
    "island "
    "foot system busy test record boat common gold possible plane age dry wonder laugh thousand ago ran "
    "check game "
    "shape yes hot miss brought heat snow bed bring sit perhaps fill east weight language among movie film "
    "happy "
    "sad bad nice cat cats dogs playing running sitting street park ball woman women smiling holding wearing "
    "shirt";

constexpr const char* kPunctuation = ".,!?'\"-:;()/&";
constexpr const char* kSuffixes[] = {"##s",  "##es",  "##ed",  "##ing",  "##ly",
                                     "##er", "##est", "##ion", "##ness", "##ful"};

std::vector<std::string> build_vocab() {
  std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  std::set<std::string> seen(vocab.begin(), vocab.end());
  const auto add = [&](const std::string& token) {
    if (seen.insert(token).second) vocab.push_back(token);
  };
  for (const char* p = kPunctuation; *p; ++p) add(std::string(1, *p));
  for (char c = '0'; c <= '9'; ++c) add(std::string(1, c));
  for (char c = 'a'; c <= 'z'; ++c) add(std::string(1, c));
  for (char c = '0'; c <= '9'; ++c) add("##" + std::string(1, c));
  for (char c = 'a'; c <= 'z'; ++c) add("##" + std::string(1, c));
  for (const char* suffix : kSuffixes) add(suffix);
  std::istringstream words(kWords);
  for (std::string word; words >> word;) add(word);
  return vocab;
}

// splitmix64: a small, well-mixed generator that gives the same stream everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Sum of four uniforms, centred and scaled to unit variance: normal-ish, bounded, exact arithmetic.
  double normalish() { return (uniform() + uniform() + uniform() + uniform() - 2.0) * std::sqrt(3.0); }

 private:
  uint64_t state_;
};

uint64_t name_hash(const std::string& name) {  // FNV-1a
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

// One tensor to be written, with its values generated as fp32 and stored in the spec dtype.
struct TinyTensor {
  std::string name;
  Shape shape;
  std::vector<std::byte> bytes;
};

// Values of one tensor: pseudo-random from the seed and the tensor's name, so
// a tensor keeps its values whatever else the model holds; stored in the spec dtype.
TinyTensor make_tensor(const TinyBertSpec& spec, std::string name, Shape shape, double mean) {
  TinyTensor t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  Rng rng(spec.seed ^ name_hash(t.name));
  std::vector<float> values(static_cast<size_t>(shape_numel(t.shape)));
  for (float& v : values) v = static_cast<float>(mean + 0.02 * rng.normalish());
  t.bytes.resize(values.size() * dtype_size(spec.dtype));
  for (size_t i = 0; i < values.size(); ++i) {
    if (spec.dtype == DType::F16) {
      const uint16_t h = f32_to_f16(values[i]);
      std::memcpy(t.bytes.data() + 2 * i, &h, 2);
    } else {
      std::memcpy(t.bytes.data() + 4 * i, &values[i], 4);
    }
  }
  return t;
}

// Heads are written only for a model with labels; every other declared
// module (the optional pooler too, as BertModel saves it) always.
bool writes_module(const TensorDecl& decl, int num_labels) {
  const bool head = decl.role == TensorRole::HeadOut || decl.role == TensorRole::HeadDense ||
                    decl.role == TensorRole::HeadNorm;
  return decl.required || !head || num_labels > 0;
}

// The architecture's tensor table names and shapes every tensor (a head's
// open dimension is the label count); values by role: a norm's scale around
// 1, everything else around 0, all with spread 0.02 as initializer_range.
// The checkpoint layout is the one transformers saves for the class in
// config.json: a sequence classifier nests the body under "bert.", a bare
// BertModel does not; the table learns it from a store holding only the
// first embedding's name.
std::vector<TinyTensor> make_weights(const std::filesystem::path& dir, const TinyBertSpec& spec) {
  const std::string prefix = spec.num_labels > 0 ? "bert." : "";
  const WeightStore layout = WeightStore::names_only(dir, {prefix + "embeddings.word_embeddings.weight"});
  const TensorTable table = declare_tensors(read_model_dir(dir), layout);
  std::vector<TinyTensor> tensors;
  for (const TensorDecl& decl : table.modules) {
    if (!writes_module(decl, spec.num_labels)) continue;
    Shape shape = decl.shape;
    for (int64_t& dim : shape)
      if (dim == kAnyDim) dim = spec.num_labels;
    tensors.push_back(make_tensor(spec, decl.weight(), shape, role_info(decl.role).is_norm ? 1.0 : 0.0));
    if (decl.bias) tensors.push_back(make_tensor(spec, decl.bias_name(), {shape.front()}, 0.0));
  }
  return tensors;
}

json make_config(const TinyBertSpec& spec, int vocab) {
  json config;
  config["architectures"] = {spec.num_labels > 0 ? "BertForSequenceClassification" : "BertModel"};
  config["model_type"] = "bert";
  config["vocab_size"] = vocab;
  config["hidden_size"] = spec.hidden;
  config["num_hidden_layers"] = spec.layers;
  config["num_attention_heads"] = spec.heads;
  config["intermediate_size"] = spec.intermediate;
  config["hidden_act"] = "gelu";
  config["hidden_dropout_prob"] = 0.1;
  config["attention_probs_dropout_prob"] = 0.1;
  config["max_position_embeddings"] = spec.max_positions;
  config["type_vocab_size"] = 2;
  config["initializer_range"] = 0.02;
  config["layer_norm_eps"] = 1e-12;
  config["pad_token_id"] = 0;
  config["position_embedding_type"] = "absolute";
  config["torch_dtype"] = spec.dtype == DType::F16 ? "float16" : "float32";
  if (spec.num_labels > 0) {
    json id2label = json::object();
    json label2id = json::object();
    for (int i = 0; i < spec.num_labels; ++i) {
      const std::string label = "LABEL_" + std::to_string(i);
      id2label[std::to_string(i)] = label;
      label2id[label] = i;
    }
    config["id2label"] = id2label;
    config["label2id"] = label2id;
  }
  return config;
}

void write_tokenizer_files(const std::filesystem::path& dir, const TinyBertSpec& spec,
                           const std::vector<std::string>& vocab) {
  std::string text;
  for (const std::string& token : vocab) text += token + "\n";
  write_file_atomic(dir / "vocab.txt", text);
  const json tokenizer_config = {{"tokenizer_class", "BertTokenizer"},
                                 {"do_lower_case", true},
                                 {"tokenize_chinese_chars", true},
                                 {"strip_accents", nullptr},
                                 {"model_max_length", spec.max_positions},
                                 {"pad_token", "[PAD]"},
                                 {"unk_token", "[UNK]"},
                                 {"cls_token", "[CLS]"},
                                 {"sep_token", "[SEP]"},
                                 {"mask_token", "[MASK]"}};
  write_file_atomic(dir / "tokenizer_config.json", tokenizer_config.dump(2) + "\n");
  const json special = {{"pad_token", "[PAD]"},
                        {"unk_token", "[UNK]"},
                        {"cls_token", "[CLS]"},
                        {"sep_token", "[SEP]"},
                        {"mask_token", "[MASK]"}};
  write_file_atomic(dir / "special_tokens_map.json", special.dump(2) + "\n");
}

void write_sentence_transformer_files(const std::filesystem::path& dir, const TinyBertSpec& spec) {
  const json modules = json::array({
      {{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", "sentence_transformers.models.Transformer"}},
      {{"idx", 1}, {"name", "1"}, {"path", "1_Pooling"}, {"type", "sentence_transformers.models.Pooling"}},
      {{"idx", 2},
       {"name", "2"},
       {"path", "2_Normalize"},
       {"type", "sentence_transformers.models.Normalize"}},
  });
  write_file_atomic(dir / "modules.json", modules.dump(2) + "\n");
  std::filesystem::create_directory(dir / "1_Pooling");
  const json pooling = {{"word_embedding_dimension", spec.hidden},
                        {"pooling_mode_cls_token", false},
                        {"pooling_mode_mean_tokens", true},
                        {"pooling_mode_max_tokens", false},
                        {"pooling_mode_mean_sqrt_len_tokens", false},
                        {"pooling_mode_weightedmean_tokens", false},
                        {"pooling_mode_lasttoken", false},
                        {"include_prompt", true}};
  write_file_atomic(dir / "1_Pooling" / "config.json", pooling.dump(2) + "\n");
  const json bert_config = {{"max_seq_length", spec.max_positions}, {"do_lower_case", false}};
  write_file_atomic(dir / "sentence_bert_config.json", bert_config.dump(2) + "\n");
}

void check_spec(const std::filesystem::path& dir, const TinyBertSpec& spec) {
  const std::string where = dir.string() + ": tiny BERT spec: ";
  if (spec.hidden <= 0 || spec.layers <= 0 || spec.heads <= 0 || spec.intermediate <= 0 ||
      spec.max_positions <= 0)
    fail(where, "hidden, layers, heads, intermediate and max_positions must be positive");
  if (spec.hidden % spec.heads != 0)
    fail(where, "hidden ", spec.hidden, " is not a multiple of heads ", spec.heads);
  if (spec.num_labels < 0) fail(where, "num_labels must be >= 0, found ", spec.num_labels);
  if (spec.dtype != DType::F32 && spec.dtype != DType::F16)
    fail(where, "dtype ", dtype_name(spec.dtype), " is not supported (F32 or F16)");
  const int full = static_cast<int>(tiny_bert_vocab().size());
  if (spec.vocab != 0 && (spec.vocab < 5 || spec.vocab > full))
    fail(where, "vocab ", spec.vocab, " must be 0 (all ", full, " words) or between 5 and ", full);
}

void write_contents(const std::filesystem::path& dir, const TinyBertSpec& spec) {
  const std::vector<std::string>& all_words = tiny_bert_vocab();
  const std::vector<std::string> vocab(all_words.begin(),
                                       all_words.begin() + (spec.vocab ? spec.vocab : all_words.size()));
  const int vocab_size = static_cast<int>(vocab.size());

  // config.json first: the tensor table is read from it.
  write_file_atomic(dir / "config.json", make_config(spec, vocab_size).dump(2) + "\n");
  const std::vector<TinyTensor> tensors = make_weights(dir, spec);
  std::vector<TensorToWrite> to_write;
  to_write.reserve(tensors.size());
  for (const TinyTensor& t : tensors) to_write.push_back({t.name, spec.dtype, t.shape, t.bytes});
  write_safetensors(dir / "model.safetensors", to_write, {{"format", "pt"}});
  write_tokenizer_files(dir, spec, vocab);
  if (spec.sentence_transformer) write_sentence_transformer_files(dir, spec);
}

}  // namespace

const std::vector<std::string>& tiny_bert_vocab() {
  static const std::vector<std::string> vocab = build_vocab();
  return vocab;
}

void write_tiny_bert(const std::filesystem::path& dir, const TinyBertSpec& spec) {
  check_spec(dir, spec);
  std::error_code ec;
  if (std::filesystem::exists(dir) && !std::filesystem::is_empty(dir, ec))
    fail(dir.string(), ": already exists and is not empty; refusing to replace it");

  const std::filesystem::path target = dir.has_filename() ? dir : dir.parent_path();
  std::string pattern = target.string() + ".tmp-XXXXXX";
  if (!::mkdtemp(pattern.data()))
    fail(dir.string(), ": cannot create temporary directory ", pattern, ": ", std::strerror(errno));
  const std::filesystem::path temp = pattern;
  try {
    // mkdtemp makes the directory 0700; a model directory is normally readable by all.
    if (::chmod(temp.c_str(), 0755) != 0)
      fail(dir.string(), ": cannot set permissions of ", temp.string(), ": ", std::strerror(errno));
    write_contents(temp, spec);
    if (::rename(temp.c_str(), target.c_str()) != 0)
      fail(dir.string(), ": cannot rename ", temp.string(), " into place: ", std::strerror(errno));
  } catch (...) {
    std::filesystem::remove_all(temp, ec);
    throw;
  }
}

}  // namespace qp
