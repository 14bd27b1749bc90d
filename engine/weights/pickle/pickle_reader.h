// A restricted pickle reader: an interpreter of the pickle opcodes of protocols 2 to 5 over a
// byte buffer that builds a value tree (pickle_value.h) and never executes anything.
//
// Globals are checked against a PicklePolicy as soon as they are named; REDUCE, NEWOBJ and BUILD
// are recorded as inert Call / Object values, and only on globals the policy allows for that use.
// Bytes are views into the buffer (no copy), so the buffer must outlive the document.
//
// Every refusal and every truncation throws moescope::Error with one line naming the file, the
// byte offset (relative to the file, base_offset included) and the opcode or global involved.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/weights/pickle/pickle_policy.h"
#include "engine/weights/pickle/pickle_value.h"

namespace moescope::pickle {

// Parses data[0, size) up to its STOP opcode. file names the file in messages; base_offset is
// where data starts inside that file (a pickle inside a zip archive).
std::unique_ptr<PickleDocument> read_pickle(const uint8_t* data, size_t size,
                                            const std::string& file, const PicklePolicy& policy,
                                            size_t base_offset = 0);

}  // namespace moescope::pickle
