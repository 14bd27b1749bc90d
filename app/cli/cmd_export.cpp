// `moescope export FILE.db --run N --format perfetto|csv|json --out OUT`.
#include <cstdio>

#include "app/cli/command_list.h"
#include "app/cli/run_selection.h"
#include "engine/core/error.h"
#include "storage/export/csv.h"
#include "storage/export/perfetto_json.h"
#include "storage/export/run_json.h"
#include "storage/trace_file.h"

namespace moescope::app {

int cmd_export(Args& args) {
  const std::string format = args.value("format", "perfetto");
  auto out = args.value("out");
  std::vector<std::string> pos;
  auto file_arg = args.value("trace");
  const int64_t run_opt = args.integer("run", 0);
  pos = args.positionals();
  if (file_arg) pos.insert(pos.begin(), *file_arg);
  if (pos.size() != 1)
    throw UsageError("expected one trace file: moescope export FILE.db --out OUT");
  if (!out) throw UsageError("missing --out FILE");
  if (format != "perfetto" && format != "csv" && format != "json")
    throw UsageError("--format must be perfetto, csv or json (got '" + format + "')");

  auto file = storage::TraceFile::open(pos[0]);
  const int64_t run = resolve_run(*file, pos[0], run_opt);
  const storage::RunData data = file->load(run);
  if (format == "perfetto")
    storage::export_perfetto_json(data, *out);
  else if (format == "csv")
    storage::export_ops_csv(data, *out);
  else
    storage::export_run_json(data, *out);
  std::printf("run %lld of %s -> %s (%s)\n", (long long)run, pos[0].c_str(), out->c_str(),
              format.c_str());
  return 0;
}

}  // namespace moescope::app
