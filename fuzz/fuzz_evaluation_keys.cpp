// libFuzzer target: the evaluation_keys reader.
#define CU_FUZZ_LOAD(b, c) (void)cryptounet::ckks::load_evaluation_keys(b, c)
#include "fuzz_loader.h"
