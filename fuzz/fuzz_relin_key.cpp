// libFuzzer target: the relin_key reader.
#define CU_FUZZ_LOAD(b, c) (void)cryptounet::ckks::load_relin_key(b, c)
#include "fuzz_loader.h"
