// The encrypted executor instantiated for the slot simulator.
#include "cryptounet/he/backends/sim_backend.h"
#include "he/exec/executor_impl.h"

namespace cryptounet::nn {

template HeTensor<SimBackend::Ct> run_encrypted<SimBackend>(SimBackend&, const Graph&,
                                                            const Plan&,
                                                            std::vector<SimBackend::Ct>,
                                                            ExecReport*, const RunOptions&);

}  // namespace cryptounet::nn
