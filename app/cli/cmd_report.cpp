// `moescope report FILE.db [--run N]`: the analyses of one recorded run (inspectors/analysis),
// as plain text for people or, with --json, for scripts.
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "app/cli/command_list.h"
#include "app/cli/run_selection.h"
#include "engine/core/error.h"
#include "inspectors/analysis/ceilings.h"
#include "inspectors/analysis/report.h"
#include "storage/trace_file.h"

namespace moescope::app {

int cmd_report(Args& args) {
  const int64_t run_opt = args.integer("run", 0);
  const int64_t compare_opt = args.integer("compare", -1);
  const bool as_json = args.flag("json");
  inspectors::ReportOptions opt;
  opt.window_steps = args.integer("window", 0);
  opt.capacity_factor = args.number("capacity-factor", 1.25);
  opt.detail_layer = int32_t(args.integer("layer", -1));
  opt.top_tokens = args.integer("top-tokens", 5);
  opt.top_heads = args.integer("top-heads", 10);
  opt.top_ops = args.integer("top-ops", 15);
  const std::string metric = args.value("head-metric", "induction");
  const std::string group = args.value("ops-by", "name");
  auto ceilings_path = args.value("ceilings");
  std::vector<std::string> pos = args.positionals();
  args.done();

  if (pos.size() != 1) throw UsageError("expected one trace file: moescope report FILE.db");
  if (run_opt < 0) throw UsageError("--run must be a run id >= 1");
  if (opt.window_steps < 0) throw UsageError("--window must be >= 0 decode steps");
  if (!(opt.capacity_factor > 0)) throw UsageError("--capacity-factor must be > 0");
  if (!inspectors::parse_head_metric(metric, opt.head_metric))
    throw UsageError(
        "--head-metric must be entropy, entropy_norm, sink, previous, duplicate or "
        "induction (got '" +
        metric + "')");
  if (!inspectors::parse_op_grouping(group, opt.op_grouping))
    throw UsageError("--ops-by must be name, name_layer, kind, layer, expert or device (got '" +
                     group + "')");

  auto file = storage::TraceFile::open(pos[0]);
  const int64_t run = resolve_run(*file, pos[0], run_opt);
  const storage::RunData data = file->load(run);
  if (opt.detail_layer >= data.info.n_layers)
    throw UsageError("--layer " + std::to_string(opt.detail_layer) + " is past the run's " +
                     std::to_string(data.info.n_layers) + " layers");
  std::optional<storage::RunData> compare;
  if (compare_opt >= 0) {
    compare = file->load(resolve_run(*file, pos[0], compare_opt));
    opt.compare = &*compare;
  }
  // The machine's ceilings, measured by `moescope bench --ceilings`; without them the ops show
  // achieved rates only.
  std::optional<inspectors::MachineCeilings> ceilings;
  if (ceilings_path) {
    ceilings = inspectors::load_ceilings(*ceilings_path);
    if (!ceilings)
      fail(*ceilings_path,
           ": file not found (machine ceilings; moescope bench --ceilings writes them)");
  } else if (std::getenv("XDG_DATA_HOME") || std::getenv("HOME")) {
    ceilings = inspectors::load_ceilings(inspectors::default_ceilings_path());
  }
  if (ceilings) opt.ceilings = &*ceilings;

  const std::string out = as_json ? inspectors::render_report_json(data, opt)
                                  : inspectors::render_report_text(data, opt);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace moescope::app
