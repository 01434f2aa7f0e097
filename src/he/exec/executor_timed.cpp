// The encrypted executor instantiated for the CKKS engine behind the timing wrapper (bench unet).
#include "cryptounet/he/backends/ckks_backend.h"
#include "cryptounet/he/backends/timed_backend.h"
#include "he/exec/executor_impl.h"

namespace cryptounet::nn {

using TimedCkks = TimedBackend<CkksBackend>;
template HeTensor<TimedCkks::Ct> run_encrypted<TimedCkks>(TimedCkks&, const Graph&, const Plan&,
                                                          std::vector<TimedCkks::Ct>, ExecReport*,
                                                          const RunOptions&);

}  // namespace cryptounet::nn
