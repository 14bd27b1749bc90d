// torch .bin layouts: pytorch_model.bin.index.json over sharded .bin files (the index names the
// file of every tensor; only listed tensors are exposed), or every *.bin file of the directory.
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/core/error.h"
#include "engine/weights/checkpoint_parts.h"
#include "engine/weights/torch/torch_bin.h"

namespace moescope::weights_detail {

namespace {

void take_over(CheckpointParts& parts, TorchBin& bin) {
  parts.files.push_back(bin.archive->path());
  parts.keep_alive.push_back(bin.archive);
  for (auto& o : bin.owned) parts.keep_alive.push_back(o);
  parts.owned_bytes += bin.owned_bytes;
}

}  // namespace

CheckpointParts load_torch_layout(const std::string& dir, const std::string& index_path,
                                  const std::vector<std::string>& names) {
  CheckpointParts parts;
  if (index_path.empty()) {
    for (const std::string& name : names) {
      TorchBin bin = read_torch_bin(join_path(dir, name));
      take_over(parts, bin);
      for (const TensorView& t : bin.tensors) parts.add(t);
    }
    return parts;
  }

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
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object() ||
      index["weight_map"].empty())
    fail(index_path, ": expected an object with \"weight_map\": {tensor name: file name}");
  std::map<std::string, std::vector<std::string>> by_file;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    if (!it->is_string())
      fail(index_path, ": weight_map[\"", it.key(), "\"] must be a file name string, got ",
           it->dump());
    by_file[it->get<std::string>()].push_back(it.key());
  }
  for (const auto& [file, listed] : by_file) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(join_path(dir, file), ec))
      fail(index_path, ": tensor '", listed.front(), "' is mapped to '", file,
           "', which is missing from ", dir);
  }
  for (const auto& [file, listed] : by_file) {
    TorchBin bin = read_torch_bin(join_path(dir, file));
    take_over(parts, bin);
    std::map<std::string, const TensorView*> in_file;
    for (const TensorView& t : bin.tensors) in_file[t.name] = &t;
    for (const std::string& name : listed) {
      auto it = in_file.find(name);
      if (it == in_file.end())
        fail(index_path, ": tensor '", name, "' is mapped to '", file, "', but ",
             bin.archive->path(), " does not contain it");
      parts.add(*it->second);
    }
  }
  return parts;
}

}  // namespace moescope::weights_detail
