// The encrypted executor instantiated for the CKKS engine.
#include "cryptounet/nn/he_ckks_backend.h"
#include "nn/he_exec_impl.h"

namespace cryptounet::nn {

template HeTensor<CkksBackend::Ct> run_encrypted<CkksBackend>(CkksBackend&, const Graph&,
                                                              const Plan&,
                                                              std::vector<CkksBackend::Ct>,
                                                              ExecReport*, const RunOptions&);

}  // namespace cryptounet::nn
