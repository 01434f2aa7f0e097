// The encrypted executor instantiated for the slot simulator.
#include "cryptounet/nn/he_sim_backend.h"
#include "nn/he_exec_impl.h"

namespace cryptounet::nn {

template HeTensor<SimBackend::Ct> run_encrypted<SimBackend>(SimBackend&, const Graph&,
                                                            const Plan&,
                                                            std::vector<SimBackend::Ct>,
                                                            ExecReport*, const RunOptions&);

}  // namespace cryptounet::nn
