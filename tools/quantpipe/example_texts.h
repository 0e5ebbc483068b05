// Built-in example sentences for demo and bench when no input is given.
#pragma once

#include <string>
#include <vector>

namespace qp::cli {

inline const std::vector<std::string>& example_sentences() {
  static const std::vector<std::string> sentences = {
      "A man is playing a guitar.",
      "A woman is slicing an onion in the kitchen.",
      "Two children are playing baseball at the park.",
      "The movie was a tedious, overlong mess with no redeeming qualities.",
      "An utterly charming and heartfelt film that stays with you.",
      "The Treaty of Westphalia ended the Thirty Years' War in 1648.",
      "Photosynthesis converts light energy into chemical energy stored in glucose.",
      "I told him we would meet at the station around noon, but he never showed up.",
      "Government spending on infrastructure rose sharply over the last decade.",
      "A dog runs through the snow with a stick in its mouth.",
      "The committee will publish its final report next spring.",
      "She laughed, shook her head and walked back into the house.",
  };
  return sentences;
}

}  // namespace qp::cli
