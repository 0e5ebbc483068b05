// The Python module `quantpipe` (pybind11): load a model, embed and classify
// texts, convert a model. Mirrors sentence-transformers' encode() where it
// can: a list of texts gives a float32 array [n, dim], a single text a 1-D
// array, normalize_embeddings L2-normalises. The GIL is released while the
// engine runs, and qp::Error surfaces as quantpipe.Error (a RuntimeError).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <cmath>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "models/tiny_model.h"
#include "quantpipe/model.h"
#include "quantpipe/quantize.h"

namespace py = pybind11;

namespace {

// A text, or a (text, text_pair) tuple for pair classifiers (NLI, cross-encoders).
using PyInput = std::variant<std::string, std::pair<std::string, std::string>>;

qp::TextInput to_input(const PyInput& input) {
  if (const auto* text = std::get_if<std::string>(&input)) return {*text, std::nullopt};
  const auto& pair = std::get<std::pair<std::string, std::string>>(input);
  return {pair.first, pair.second};
}

std::vector<qp::TextInput> to_inputs(const std::vector<PyInput>& inputs) {
  std::vector<qp::TextInput> out;
  out.reserve(inputs.size());
  for (const PyInput& input : inputs) out.push_back(to_input(input));
  return out;
}

py::array_t<float> to_array(const std::vector<std::vector<float>>& rows, bool normalize) {
  const size_t n = rows.size(), dim = rows.empty() ? 0 : rows[0].size();
  py::array_t<float> out({n, dim});
  auto view = out.mutable_unchecked<2>();
  for (size_t i = 0; i < n; ++i) {
    double norm = 0;
    for (float v : rows[i]) norm += double(v) * v;
    const float scale = normalize && norm > 0 ? static_cast<float>(1.0 / std::sqrt(norm)) : 1.0f;
    for (size_t j = 0; j < dim; ++j) view(i, j) = rows[i][j] * scale;
  }
  return out;
}

py::dict classification_dict(const qp::Classification& c, const std::vector<std::string>& labels) {
  py::dict d;
  d["label"] = c.has_label() ? py::object(py::str(c.label)) : py::object(py::none());
  d["score"] = c.has_label() ? py::object(py::float_(c.scores[c.label_index])) : py::object(py::none());
  py::dict scores;
  for (size_t i = 0; i < c.scores.size() && i < labels.size(); ++i) scores[py::str(labels[i])] = c.scores[i];
  d["scores"] = scores;
  d["logits"] = c.logits;
  return d;
}

class PyModel {
 public:
  // path: a model directory or a hub id (org/name[@revision]), as the CLI's --model.
  PyModel(const std::string& path, int threads) : model_(load(path, threads)) {}

  py::object encode(const std::variant<std::string, std::vector<std::string>>& sentences, int batch_size,
                    bool normalize_embeddings, int max_length) const {
    const bool single = std::holds_alternative<std::string>(sentences);
    std::vector<qp::TextInput> inputs;
    if (single) {
      inputs.push_back({std::get<std::string>(sentences), std::nullopt});
    } else {
      for (const std::string& s : std::get<std::vector<std::string>>(sentences))
        inputs.push_back({s, std::nullopt});
    }
    std::vector<std::vector<float>> rows;
    {
      py::gil_scoped_release release;
      rows = model_.embed(inputs, {batch_size, max_length});
    }
    py::array_t<float> array = to_array(rows, normalize_embeddings);
    if (single) return array[py::int_(0)];
    return array;
  }

  py::list classify(const std::vector<PyInput>& inputs, int batch_size, int max_length) const {
    std::vector<qp::Classification> results;
    {
      py::gil_scoped_release release;
      results = model_.classify(to_inputs(inputs), {batch_size, max_length});
    }
    py::list out;
    for (const qp::Classification& c : results) out.append(classification_dict(c, model_.labels()));
    return out;
  }

  py::dict info() const {
    const qp::EncoderInfo& i = model_.info();
    py::dict d;
    d["architecture"] = i.architecture;
    d["hidden_size"] = i.hidden_size;
    d["num_layers"] = i.num_layers;
    d["num_heads"] = i.num_heads;
    d["max_positions"] = i.max_positions;
    d["num_labels"] = i.num_labels;
    d["weight_format"] = model_.weight_format();
    d["threads"] = model_.threads();
    return d;
  }

  const qp::Model& model() const { return model_; }

 private:
  static qp::Model load(const std::string& path, int threads) {
    py::gil_scoped_release release;  // a hub id may download
    return qp::Model::load(qp::resolve_model_source(path), {threads});
  }

  qp::Model model_;
};

py::dict convert(const std::string& source, const std::filesystem::path& out, const std::string& scheme,
                 const std::optional<std::string>& embedding, const std::vector<std::string>& keep,
                 const std::vector<std::string>& overrides, bool force, bool emit_fp16) {
  qp::QuantizeOptions options;
  options.scheme = scheme;
  options.embedding = embedding.value_or("keep");
  options.keep = keep;
  options.overrides = overrides;
  options.force = force;
  options.emit_fp16 = emit_fp16;
  std::string report;
  {
    py::gil_scoped_release release;
    report = qp::quantize(qp::resolve_model_source(source), out, options).report_json;
  }
  return py::module_::import("json").attr("loads")(report);
}

}  // namespace

PYBIND11_MODULE(quantpipe, m) {
  m.doc() = "quantpipe: quantized Hugging Face encoders on a fast CPU engine";
  py::register_exception<qp::Error>(m, "Error", PyExc_RuntimeError);

  py::class_<PyModel>(m, "Model")
      .def(py::init<const std::string&, int>(), py::arg("path"), py::arg("threads") = 0,
           "Loads a Hugging Face or quantpipe model directory, or a hub id org/name[@revision] fetched into "
           "the Hugging Face cache (threads=0: all cores).")
      .def("encode", &PyModel::encode, py::arg("sentences"), py::arg("batch_size") = 32,
           py::arg("normalize_embeddings") = false, py::arg("max_length") = 0,
           "Embeddings as float32: [n, dim] for a list, [dim] for one text (as sentence-transformers).")
      .def("embed", &PyModel::encode, py::arg("sentences"), py::arg("batch_size") = 32,
           py::arg("normalize_embeddings") = false, py::arg("max_length") = 0, "Alias of encode().")
      .def("classify", &PyModel::classify, py::arg("inputs"), py::arg("batch_size") = 32,
           py::arg("max_length") = 0,
           "Texts or (text, text_pair) tuples → [{label, score, scores, logits}]; label None for non-finite "
           "logits.")
      .def_property_readonly("labels", [](const PyModel& m) { return m.model().labels(); })
      .def_property_readonly("max_seq_length",
                             [](const PyModel& m) { return m.model().default_max_length(); })
      .def_property_readonly("info", &PyModel::info);

  m.def("convert", &convert, py::arg("source"), py::arg("out"), py::arg("scheme") = "q4_affine_g64",
        py::arg("embedding") = std::optional<std::string>("q8_affine_g64"),
        py::arg("keep") = std::vector<std::string>{}, py::arg("overrides") = std::vector<std::string>{},
        py::arg("force") = false, py::arg("emit_fp16") = false,
        "Quantizes a model directory (schemes such as q8_sym_ch, q4_affine_g64, ternary_g64; embedding=None "
        "keeps "
        "the word embeddings); returns the quantpipe.json report as a dict.");

  // For tests and examples: a tiny random BERT in Hugging Face layout (see models/tiny_model.h).
  m.def(
      "_write_tiny_bert",
      [](const std::filesystem::path& dir, int num_labels, bool sentence_transformer) {
        qp::TinyBertSpec spec;
        spec.num_labels = num_labels;
        spec.sentence_transformer = sentence_transformer;
        qp::write_tiny_bert(dir, spec);
      },
      py::arg("dir"), py::arg("num_labels") = 0, py::arg("sentence_transformer") = false);
}
