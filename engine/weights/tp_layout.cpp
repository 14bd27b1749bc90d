// Layout 2: Grok-2's TP-presharded files (grok-architecture.md 4.3).
//
// PREFIX-TP-common.safetensors files hold replicated tensors, taken as they are; each
// PREFIX-TP-NNN.safetensors holds rank NNN's slice of the tensors split for tensor parallelism.
// Every prefix that has rank files must have all ranks 000..R-1 (R = the highest rank seen + 1).
// Each per-rank tensor must be in every rank; its slices are joined (tp_join.h) into one tensor
// owned by the checkpoint. Other safetensors files beside them are taken as they are, like common
// files.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "engine/core/error.h"
#include "engine/weights/checkpoint_parts.h"
#include "engine/weights/tp_join.h"

namespace moescope::weights_detail {

namespace {

constexpr const char* kExt = ".safetensors";

struct TpName {
  std::string prefix;
  std::optional<int> rank;  // nullopt for -TP-common
};

std::optional<TpName> parse_tp_name(const std::string& name) {
  const std::string ext = kExt;
  if (name.size() < ext.size() || name.compare(name.size() - ext.size(), ext.size(), ext) != 0)
    return std::nullopt;
  std::string stem = name.substr(0, name.size() - ext.size());
  size_t at = stem.rfind("-TP-");
  if (at == std::string::npos) return std::nullopt;
  std::string tag = stem.substr(at + 4);
  if (tag == "common") return TpName{stem.substr(0, at), std::nullopt};
  // Exactly three digits, as Grok-2 and SGLang's loader spell ranks (-TP-{rank:03d}).
  if (tag.size() != 3 || tag.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return TpName{stem.substr(0, at), std::stoi(tag)};
}

// "007" for rank 7.
std::string rank_tag(int rank) {
  char tag[16];
  std::snprintf(tag, sizeof tag, "%03d", rank);
  return tag;
}

std::string rank_file(const std::string& prefix, int rank) {
  return prefix + "-TP-" + rank_tag(rank) + kExt;
}

// What a joined tensor's TensorView::file says: "DIR/PREFIX-TP-{000..NNN}.safetensors" when all
// slices come from one prefix, else rank 0's file and a count.
std::string joined_file_label(const std::string& dir,
                              const std::vector<const TensorView*>& slices) {
  auto prefix_of = [](const TensorView* s) {
    auto tp = parse_tp_name(std::filesystem::path(s->file).filename().string());
    return tp ? tp->prefix : s->file;
  };
  std::string prefix = prefix_of(slices[0]);
  for (const TensorView* s : slices)
    if (prefix_of(s) != prefix)
      return cat(slices[0]->file, " and ", slices.size() - 1, " other rank files");
  return join_path(dir, prefix + "-TP-{000.." + rank_tag(int(slices.size()) - 1) + "}" + kExt);
}

}  // namespace

bool is_tp_file_name(const std::string& name) {
  return parse_tp_name(name).has_value();
}

CheckpointParts load_tp_layout(const std::string& dir, const std::vector<std::string>& names) {
  std::vector<std::string> as_is;
  std::map<std::string, std::map<int, std::string>> rank_files;  // prefix -> rank -> file name
  int num_ranks = 0;
  for (const std::string& name : names) {
    auto tp = parse_tp_name(name);
    if (!tp || !tp->rank) {
      as_is.push_back(name);
      continue;
    }
    rank_files[tp->prefix][*tp->rank] = name;
    num_ranks = std::max(num_ranks, *tp->rank + 1);
  }
  for (const auto& [prefix, ranks] : rank_files)
    for (int r = 0; r < num_ranks; ++r)
      if (!ranks.count(r))
        fail(dir, ": TP-presharded checkpoint is missing rank ", rank_tag(r), ": ",
             rank_file(prefix, r), " does not exist (files go up to rank ", rank_tag(num_ranks - 1),
             ", so ranks 000..", rank_tag(num_ranks - 1), " must all be present for every prefix)");

  CheckpointParts parts = load_plain_layout(dir, as_is);

  // by_rank[r]: tensor name -> its slice in rank r, over all of rank r's files.
  auto by_rank = std::vector<std::map<std::string, const TensorView*>>(size_t(num_ranks));
  std::set<std::string> split_names;
  for (const auto& [prefix, ranks] : rank_files)
    for (const auto& [r, file] : ranks) {
      const SafetensorsFile& f = parts.open_file(join_path(dir, file));
      for (const auto& [name, view] : f.tensors()) {
        auto [it, inserted] = by_rank[size_t(r)].emplace(name, &view);
        if (!inserted)
          fail("tensor '", name, "' is defined twice for rank ", r, ": in ", it->second->file,
               " and in ", view.file);
        split_names.insert(name);
      }
    }

  for (const std::string& name : split_names) {
    std::vector<const TensorView*> slices;
    for (int r = 0; r < num_ranks; ++r) {
      auto it = by_rank[size_t(r)].find(name);
      if (it == by_rank[size_t(r)].end()) {
        const TensorView* some = nullptr;
        for (const auto& rank : by_rank)
          if (auto s = rank.find(name); s != rank.end()) some = s->second;
        fail("tensor '", name, "' is in TP rank file ", some->file, " but in no file of rank ", r,
             "; a per-rank tensor needs a slice in each of the ", num_ranks, " ranks");
      }
      slices.push_back(it->second);
    }
    // One rank has nothing to join; the mapped view serves as it is.
    if (num_ranks == 1) {
      parts.add(*slices[0]);
      continue;
    }
    if (auto dim = tp_join_dim(name)) {
      std::vector<uint8_t> bytes;
      TensorView joined = concat_rank_slices(slices, *dim, bytes);
      joined.file = joined_file_label(dir, slices);
      parts.owned.push_back(std::move(bytes));
      parts.add(joined);
    } else {
      check_replicated(slices);
      parts.add(*slices[0]);
    }
  }
  return parts;
}

}  // namespace moescope::weights_detail
