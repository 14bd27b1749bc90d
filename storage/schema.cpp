// Schema version 3 of the trace file, and the migrations from versions 1 and 2.
//
// Conventions: times are int64 nanoseconds (start_unix_ns on the wall clock, everything else on
// the engine's monotonic trace clock, runs.start_ns being the run's origin). BLOBs are packed
// little-endian arrays (f32, i32, or IEEE f16 as u16). Names are interned in `strings`.
// Rows of routing, ops and attention are immutable once committed and appended in rowid order:
// incremental readers (TraceFile::refresh) continue from the last rowid they saw.
//
//   meta(key, value)                   schema_version, created_by
//   runs(id, ...RunInfo..., end_ns, status 'running'|'complete'|'aborted', error,
//        writer_pid, writer_start, dropped_tokens/routing/attention/ops)
//   strings(id, value UNIQUE)          op names and kinds
//   tokens(run_id, position, step, token_id, text, phase 'prompt'|'generated', logprob (NULL for
//          NaN), top_ids i32[n_top], top_logprobs f32[n_top], n_top, time_ns)   one per position
//          logprob has no declared type: REAL affinity would store -0.0 as the integer 0.
//   routing(run_id, layer, pos0, count, n_experts, top_k, step0, step_stride,
//           probs f32[count, E], ids i32[count, K], gates f32[count, K])
//          Consecutive positions of one (run, layer) are coalesced into one row per commit: one
//          row per decision would cap the writer at SQLite's ~0.5M rows/s. Position pos0 + i was
//          routed by step step0 + i * step_stride: 0 for a prefill (one step for the whole row),
//          1 for a run of decode steps; the writer starts a new row where neither holds.
//   ops(run_id, step, name_id, kind_id, layer, expert, device, stream, start_ns, end_ns, bytes,
//       flops)                         one row per op
//                                      index (run_id, name_id) only: every index costs each
//                                      insert, and readers load a run's ops by rowid
//   attention(run_id, step, layer, head, kv_head, q0, n_queries, n_keys, probs f16[Q, S])
//                                      one row per (layer, head) block; index (run_id, layer, head)
//   drops(run_id, kind 'tokens'|'routing'|'attention'|'ops'|'memory', count)
//                                      kept current every commit
//   memory(run_id, step, time_ns, rss_bytes, peak_rss_bytes, attention_bytes)
//                                      the process's memory, sampled during the run (a few rows a
//                                      second); index (run_id)
//
// Version 2 is version 3 without the memory table.
// Version 1 (the first layout; tests/storage/fixtures/make_trace_v1.py writes a fixture) had no
// runs.error / writer_pid / writer_start, no drops table (only the runs.dropped_* counters), ops
// without kind_id, and routing as one row per decision:
// routing(run_id, layer, position, step, probs f32[E], ids i32[K], gates f32[K]).
#include "storage/schema.h"

#include <cstdlib>

#include "engine/core/error.h"

namespace moescope::storage {

namespace {

// The memory table (schema v3), created by a new file and by the v2 -> v3 migration alike.
#define MOESCOPE_MEMORY_V3_TABLE                                                 \
  "CREATE TABLE memory(\n  run_id INTEGER NOT NULL,\n  step INTEGER NOT NULL,\n" \
  "  time_ns INTEGER NOT NULL,\n  rss_bytes INTEGER NOT NULL,\n"                 \
  "  peak_rss_bytes INTEGER NOT NULL,\n  attention_bytes INTEGER NOT NULL);\n"   \
  "CREATE INDEX memory_run ON memory(run_id);\n"

// The routing table of schema v2, which both a new file and the v1 -> v2 migration create: one
// definition, so the two cannot drift apart. A macro so that it joins the SQL literals below.
#define MOESCOPE_ROUTING_V2_COLUMNS                                                        \
  "(\n  run_id INTEGER NOT NULL,\n  layer INTEGER NOT NULL,\n  pos0 INTEGER NOT NULL,\n"   \
  "  count INTEGER NOT NULL,\n  n_experts INTEGER NOT NULL,\n  top_k INTEGER NOT NULL,\n"  \
  "  step0 INTEGER NOT NULL,\n  step_stride INTEGER NOT NULL DEFAULT 0,\n"                 \
  "  probs BLOB NOT NULL,\n  ids BLOB NOT NULL,\n  gates BLOB NOT NULL,\n  logits BLOB,\n" \
  "  PRIMARY KEY(run_id, layer, pos0));\n"

const char* const kCreateV3 = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  model TEXT NOT NULL DEFAULT '',
  model_dir TEXT NOT NULL DEFAULT '',
  config_json TEXT NOT NULL DEFAULT '',
  tokenizer TEXT NOT NULL DEFAULT '',
  prompt TEXT NOT NULL DEFAULT '',
  sampling_json TEXT NOT NULL DEFAULT '',
  capture_json TEXT NOT NULL DEFAULT '',
  machine_json TEXT NOT NULL DEFAULT '',
  devices_json TEXT NOT NULL DEFAULT '',
  layout_json TEXT NOT NULL DEFAULT '',
  n_layers INTEGER NOT NULL DEFAULT 0,
  n_experts INTEGER NOT NULL DEFAULT 0,
  top_k INTEGER NOT NULL DEFAULT 0,
  n_heads INTEGER NOT NULL DEFAULT 0,
  n_kv_heads INTEGER NOT NULL DEFAULT 0,
  vocab_size INTEGER NOT NULL DEFAULT 0,
  start_unix_ns INTEGER NOT NULL DEFAULT 0,
  start_ns INTEGER NOT NULL DEFAULT 0,
  end_ns INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'running',
  error TEXT NOT NULL DEFAULT '',
  writer_pid INTEGER,
  writer_start INTEGER,
  dropped_tokens INTEGER NOT NULL DEFAULT 0,
  dropped_routing INTEGER NOT NULL DEFAULT 0,
  dropped_attention INTEGER NOT NULL DEFAULT 0,
  dropped_ops INTEGER NOT NULL DEFAULT 0);
CREATE TABLE strings(id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE);
CREATE TABLE tokens(
  run_id INTEGER NOT NULL,
  position INTEGER NOT NULL,
  step INTEGER NOT NULL,
  token_id INTEGER NOT NULL,
  text TEXT NOT NULL,
  phase TEXT NOT NULL,
  logprob,
  top_ids BLOB,
  top_logprobs BLOB,
  n_top INTEGER NOT NULL,
  time_ns INTEGER NOT NULL,
  PRIMARY KEY(run_id, position)) WITHOUT ROWID;
CREATE TABLE routing)sql" MOESCOPE_ROUTING_V2_COLUMNS R"sql(
CREATE TABLE ops(
  run_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  name_id INTEGER NOT NULL,
  kind_id INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  expert INTEGER NOT NULL,
  device INTEGER NOT NULL,
  stream INTEGER NOT NULL,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  flops INTEGER NOT NULL);
CREATE INDEX ops_run_name ON ops(run_id, name_id);
CREATE TABLE attention(
  run_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  head INTEGER NOT NULL,
  kv_head INTEGER NOT NULL,
  q0 INTEGER NOT NULL,
  n_queries INTEGER NOT NULL,
  n_keys INTEGER NOT NULL,
  probs BLOB NOT NULL);
CREATE INDEX attention_run_layer_head ON attention(run_id, layer, head);
CREATE TABLE drops(
  run_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY(run_id, kind)) WITHOUT ROWID;
)sql" MOESCOPE_MEMORY_V3_TABLE R"sql(
INSERT INTO meta VALUES('schema_version', '3');
INSERT INTO meta VALUES('created_by', 'moescope');
)sql";

// v1 -> v2. ALTER TABLE ... ADD COLUMN where it suffices; routing is rebuilt because its key
// changes from one position to a block of them (every v1 row becomes a block of count 1).
const char* const kMigrate1To2 = R"sql(
ALTER TABLE runs ADD COLUMN error TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN writer_pid INTEGER;
ALTER TABLE runs ADD COLUMN writer_start INTEGER;
CREATE TABLE drops(
  run_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY(run_id, kind)) WITHOUT ROWID;
INSERT INTO drops SELECT id, 'tokens', dropped_tokens FROM runs WHERE dropped_tokens > 0;
INSERT INTO drops SELECT id, 'routing', dropped_routing FROM runs WHERE dropped_routing > 0;
INSERT INTO drops SELECT id, 'attention', dropped_attention FROM runs WHERE dropped_attention > 0;
INSERT INTO drops SELECT id, 'ops', dropped_ops FROM runs WHERE dropped_ops > 0;
INSERT OR IGNORE INTO strings(value) VALUES('unknown');
ALTER TABLE ops ADD COLUMN kind_id INTEGER NOT NULL DEFAULT 0;
UPDATE ops SET kind_id = (SELECT id FROM strings WHERE value = 'unknown');
CREATE TABLE routing_v2)sql" MOESCOPE_ROUTING_V2_COLUMNS R"sql(
INSERT INTO routing_v2(run_id, layer, pos0, count, n_experts, top_k, step0, step_stride, probs,
                       ids, gates)
  SELECT run_id, layer, position, 1, length(probs) / 4, length(ids) / 4, step, 0, probs, ids,
         gates
  FROM routing ORDER BY rowid;
DROP TABLE routing;
ALTER TABLE routing_v2 RENAME TO routing;
)sql";

// v2 -> v3: the memory samples are new; nothing else changes.
const char* const kMigrate2To3 = MOESCOPE_MEMORY_V3_TABLE;

struct Migration {
  int from;
  const char* sql;
};
const Migration kMigrations[] = {{1, kMigrate1To2}, {2, kMigrate2To3}};

}  // namespace

int read_schema_version(Db& db) {
  const int64_t has_meta =
      db.query_int("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                   "reading the schema");
  if (!has_meta)
    fail("trace ", db.path(), ": not a moescope trace (no meta table with a schema_version)");
  Stmt s(db, "SELECT value FROM meta WHERE key = 'schema_version'");
  if (!s.step())
    fail("trace ", db.path(), ": not a moescope trace (its meta table has no schema_version)");
  const std::string text = s.text(0);
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != 0 || v < 1)
    fail("trace ", db.path(), ": schema_version '", text, "' is not a version number (1 or more)");
  if (v > kSchemaVersion)
    fail("trace ", db.path(), " was written by a newer moescope (schema ", v,
         "; this build reads up to ", kSchemaVersion, ")");
  return int(v);
}

int prepare_schema(Db& db) {
  if (db.query_int("SELECT count(*) FROM sqlite_master", "reading the schema") == 0) {
    db.exec(kCreateV3, "creating the schema");
    return 0;
  }
  const int version = read_schema_version(db);
  if (version < kSchemaVersion) migrate(db, version);
  return version;
}

void migrate(Db& db, int from) {
  for (const Migration& m : kMigrations) {
    if (m.from < from) continue;
    db.exec(m.sql, cat("migrating schema ", m.from, " to ", m.from + 1));
  }
  const std::string sql =
      cat("UPDATE meta SET value = '", kSchemaVersion, "' WHERE key = 'schema_version'");
  db.exec(sql.c_str(), "recording the schema version");
}

}  // namespace moescope::storage
