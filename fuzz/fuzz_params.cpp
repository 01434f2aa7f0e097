// libFuzzer target: the params reader.
#define CU_FUZZ_LOAD(b, c) (void)cryptounet::ckks::load_params(b, true)
#include "fuzz_loader.h"
