// Checks on a trace file's bytes before SQLite opens it, for the cases SQLite reports late or
// vaguely: a missing file, a directory, an empty file, a file that is not SQLite at all, and a
// copy cut short (SQLite would read zeros past the end and fail only on some later query).
#pragma once

#include <string>

namespace moescope::storage {

enum class FileState { Missing, Empty, Database };

// Throws Error naming the file for a directory, an unreadable file, a file that is not an SQLite
// database, or one shorter than its header says. A missing or empty file is reported as such;
// the caller decides whether that is an error (reader) or a new trace (writer).
FileState check_trace_file(const std::string& path);

}  // namespace moescope::storage
