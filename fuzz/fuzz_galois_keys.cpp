// libFuzzer target: the galois_keys reader.
#define CU_FUZZ_LOAD(b, c) (void)cryptounet::ckks::load_galois_keys(b, c)
#include "fuzz_loader.h"
