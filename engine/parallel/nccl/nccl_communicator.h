// The NCCL communicator: one rank per GPU of a group made with ncclCommInitAll over the visible
// GPUs (or a chosen subset), in one process with one thread per GPU, as the engine's GPU path
// runs it. Same interface as the CPU communicator, but every pointer is device memory on the
// rank's GPU; each call enqueues on the rank's stream and waits for it (the engine's kernels run
// on the same stream in the GPU backend, where the wait goes away).
//
// Built only when NCCL is found beside the CUDA toolkit (target moescope_nccl, never linked into
// the moescope binary, so nothing needs libnccl at run time). Multi-node: NCCL's own bootstrap
// with a unique id (ncclGetUniqueId on rank 0, passed to the others by the launcher, then
// ncclCommInitRank) extends this to several machines; see docs/parallelism.md.
#pragma once

#include <memory>
#include <vector>

#include "engine/parallel/communicator.h"

namespace moescope::parallel {

// NCCL's version ("2.28.9"), or the error when the library cannot be used.
std::string nccl_version();

// One communicator per GPU in devices (indices as CUDA numbers them; empty = all visible).
// Throws moescope::Error naming the devices and NCCL's message when there are no GPUs, an index
// is out of range, or NCCL fails to initialise.
std::vector<std::unique_ptr<Communicator>> make_nccl_group(std::vector<int> devices = {});

}  // namespace moescope::parallel
