// The one field of a SentencePiece ModelProto that libsentencepiece's public API
// does not expose: normalizer_spec.precompiled_charsmap (read from
// SentencePieceProcessor::serialized_model_proto() with a minimal protobuf walk).
#pragma once

#include <string>
#include <string_view>

namespace qp::tok {

// Empty when the model has no charsmap; throws qp::Error (naming what) on a malformed proto.
std::string spm_precompiled_charsmap(std::string_view model_proto, const std::string& what);

}  // namespace qp::tok
