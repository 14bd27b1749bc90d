// Layout 1: a model.safetensors.index.json whose "weight_map" names the shard of every tensor.
//
// The index is authoritative: only the files it references are opened, every tensor it lists must
// be in the shard it names, and tensors a shard holds but the index does not list are not exposed.
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/core/error.h"
#include "engine/weights/checkpoint_parts.h"

namespace moescope::weights_detail {

CheckpointParts load_index_layout(const std::string& dir, const std::string& index_path) {
  using nlohmann::json;
  std::ifstream in(index_path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) fail(index_path, ": cannot read the checkpoint index");
  json index;
  try {
    index = json::parse(text.str());
  } catch (const json::exception& e) {
    fail(index_path, ": not valid JSON: ", e.what());
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    fail(index_path, ": expected an object with \"weight_map\": {tensor name: file name}");
  const json& weight_map = index["weight_map"];
  if (weight_map.empty()) fail(index_path, ": \"weight_map\" lists no tensors");

  // file -> the tensors the index places in it; std::map keeps the opening order deterministic.
  std::map<std::string, std::vector<std::string>> by_file;
  for (auto it = weight_map.begin(); it != weight_map.end(); ++it) {
    if (!it->is_string())
      fail(index_path, ": weight_map[\"", it.key(), "\"] must be a file name string, got ",
           it->dump());
    by_file[it->get<std::string>()].push_back(it.key());
  }
  // Every shard must exist before any is opened, so the error names the index's mistake rather
  // than an open() failure.
  for (const auto& [file, names] : by_file) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(join_path(dir, file), ec))
      fail(index_path, ": tensor '", names.front(), "'",
           names.size() > 1 ? cat(" (and ", names.size() - 1, " more)") : std::string(),
           " is mapped to '", file, "', which is missing from ", dir);
  }

  CheckpointParts parts;
  std::map<std::string, std::string> found_in;  // listed tensor -> first shard that holds it
  for (const auto& [file, names] : by_file) {
    const SafetensorsFile& shard = parts.open_file(join_path(dir, file));
    for (const std::string& name : names) {
      const TensorView* view = shard.find(name);
      if (!view)
        fail(index_path, ": tensor '", name, "' is mapped to '", file, "', but ", shard.path(),
             " does not contain it");
      parts.add(*view);
    }
    // A listed tensor that a second shard also holds means the shards and the index disagree.
    for (const auto& [name, view] : shard.tensors()) {
      if (!weight_map.contains(name)) continue;
      auto [it, inserted] = found_in.emplace(name, shard.path());
      if (!inserted)
        fail("tensor '", name, "' is defined twice: in ", it->second, " and in ", shard.path(),
             " (", index_path, " maps it to '", weight_map[name].get<std::string>(), "')");
    }
  }
  return parts;
}

}  // namespace moescope::weights_detail
