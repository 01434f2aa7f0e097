// libFuzzer target: the public_key reader.
#define CU_FUZZ_LOAD(b, c) (void)cryptounet::ckks::load_public_key(b, c)
#include "fuzz_loader.h"
