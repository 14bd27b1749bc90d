// Allow-lists for the restricted pickle reader: which globals a pickle may name, and how each may
// be used. Everything not listed is refused with an error naming the file, the opcode's byte
// offset and the global.
//
// numpy_policy(): what Grok-1's ckpt-0 files contain (grok-architecture.md 4.1) - numpy arrays
//   (numpy 1 and numpy 2 spellings of _reconstruct, protocol 5's _frombuffer), numpy dtypes
//   including ml_dtypes' bfloat16 (what a pickled JAX/ml_dtypes bf16 array references), the
//   latin-1 bytes helper protocol 2 uses for array data, and __main__.QuantizedWeight8bit.
// torch_policy(): what torch.save writes for a state dict (data.pkl of a .bin): OrderedDict,
//   _rebuild_tensor_v2, the typed storage classes, and persistent ids for the storages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moescope::pickle {

// How an allowed global may be used.
enum class Use : uint8_t {
  Argument,   // only passed as an argument (a class handed to a reconstructor, a dtype type)
  Callable,   // may be the callee of REDUCE; the call is recorded, never made
  Class,      // may be instantiated by NEWOBJ and receive BUILD state
  EmptyDict,  // REDUCE with no arguments gives an empty dict (collections.OrderedDict)
};

struct AllowedGlobal {
  std::string qualified;  // "module.name"
  Use use = Use::Argument;
};

struct PicklePolicy {
  std::string what;  // "Grok-1 ckpt-0 tensor pickle", for messages
  std::vector<AllowedGlobal> globals;
  bool persistent_ids = false;  // PERSID / BINPERSID allowed (torch storages)

  const AllowedGlobal* find(std::string_view qualified) const;
  // "a, b, c": the allowed globals, for error messages.
  std::string allowed_list() const;
};

const PicklePolicy& numpy_policy();
const PicklePolicy& torch_policy();

}  // namespace moescope::pickle
