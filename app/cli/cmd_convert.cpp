// `moescope convert`: a checkpoint directory (ckpt-0, torch .bin, safetensors, TP-presharded) to
// verified safetensors in our layout or another naming scheme (engine/convert/convert.h).
#include <cctype>
#include <cstdio>

#include "app/cli/command_list.h"
#include "app/cli/format.h"
#include "engine/convert/convert.h"
#include "engine/core/error.h"

namespace moescope::app {

namespace {

// "5GB", "500MB", "64KiB", "1000" -> bytes (KB/MB/GB are powers of 10, as HF counts them).
uint64_t parse_size(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  std::string unit = text.substr(i);
  for (char& ch : unit) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  const std::pair<const char*, uint64_t> units[] = {{"", 1},
                                                    {"B", 1},
                                                    {"KB", 1000},
                                                    {"MB", 1000000},
                                                    {"GB", 1000000000},
                                                    {"KIB", 1 << 10},
                                                    {"MIB", 1 << 20},
                                                    {"GIB", uint64_t(1) << 30}};
  if (i == 0 || i > 15)
    throw UsageError("--shard-size expects a size such as 5GB, got '" + text + "'");
  for (auto [name, scale] : units)
    if (unit == name) return std::stoull(text.substr(0, i)) * scale;
  throw UsageError("--shard-size: unknown unit '" + text.substr(i) +
                   "' (B, KB, MB, GB, KiB, MiB, GiB)");
}

}  // namespace

int cmd_convert(Args& args) {
  ConvertOptions opt;
  auto from = args.value("from");
  auto to = args.value("to");
  const std::string dtype = args.value("dtype", "keep");
  auto names = args.value("names");
  auto shard = args.value("shard-size");
  opt.int8_groups = args.integer("groups", 1);
  opt.tokenizer = args.value("tokenizer", "");
  opt.overwrite = args.flag("overwrite");
  const bool quiet = args.flag("quiet");
  args.done();
  if (!from) throw UsageError("missing --from DIR");
  if (!to) throw UsageError("missing --to DIR");
  opt.from = *from;
  opt.to = *to;
  if (dtype == "keep")
    opt.dtype = ConvertDtype::Keep;
  else if (dtype == "bf16")
    opt.dtype = ConvertDtype::Bf16;
  else if (dtype == "int8")
    opt.dtype = ConvertDtype::Int8;
  else
    throw UsageError("--dtype must be keep, bf16 or int8, got '" + dtype + "'");
  if (names) {
    opt.names = naming_scheme_from_name(*names);
    if (!opt.names)
      throw UsageError("--names must be hpcai, sglang, keyfan or mixtral, got '" + *names + "'");
  }
  if (shard) opt.shard_bytes = parse_size(*shard);
  if (opt.shard_bytes == 0) throw UsageError("--shard-size must be > 0");
  if (opt.int8_groups < 1) throw UsageError("--groups must be >= 1");

  auto say = [&](const std::string& line) {
    if (!quiet) std::printf("  %s\n", line.c_str());
    std::fflush(stdout);
  };
  std::printf("converting %s -> %s (dtype %s)\n", opt.from.c_str(), opt.to.c_str(),
              convert_dtype_name(opt.dtype));
  const ConvertReport r = convert_checkpoint(opt, say);
  std::string files;
  for (const std::string& f : r.files) files += (files.empty() ? "" : ", ") + f;
  std::string copied;
  for (const std::string& f : r.copied) copied += (copied.empty() ? "" : ", ") + f;
  std::printf("input      %s, %s names, %s tensor bytes\n", r.layout.c_str(),
              naming_scheme_name(r.in_names), with_commas(int64_t(r.source_bytes)).c_str());
  std::printf("output     %zu tensors in %zu file(s) (%s), %s names, %s bytes\n", r.tensors,
              r.files.size(), files.c_str(), naming_scheme_name(r.out_names),
              with_commas(int64_t(r.bytes)).c_str());
  std::printf("also       %s\n", copied.c_str());
  if (!r.dropped.empty())
    std::printf("dropped    %zu unused tensor(s), first '%s'\n", r.dropped.size(),
                r.dropped.front().c_str());
  std::printf(
      "verified   %zu weights: %zu identical, %zu within bf16 rounding, %zu within half "
      "an int8 step (max error %.3g of the tensor's max)\n",
      r.identical + r.within_rounding + r.within_step, r.identical, r.within_rounding,
      r.within_step, r.max_rel_error);
  std::printf("loads as   %s\n", r.model_summary.c_str());
  return 0;
}

}  // namespace moescope::app
