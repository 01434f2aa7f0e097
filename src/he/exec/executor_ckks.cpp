// The encrypted executor instantiated for the CKKS engine.
#include "cryptounet/he/backends/ckks_backend.h"
#include "he/exec/executor_impl.h"

namespace cryptounet::nn {

template HeTensor<CkksBackend::Ct> run_encrypted<CkksBackend>(CkksBackend&, const Graph&,
                                                              const Plan&,
                                                              std::vector<CkksBackend::Ct>,
                                                              ExecReport*, const RunOptions&);

}  // namespace cryptounet::nn
