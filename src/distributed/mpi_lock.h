// Internal to the distributed layer: every MPI call of this process goes through one mutex
// (MPI_THREAD_SERIALIZED), so a heartbeat thread and the main thread never call MPI at once.
#pragma once

#include <mutex>

namespace cryptounet::distributed {

std::mutex& mpi_mutex();

}  // namespace cryptounet::distributed
