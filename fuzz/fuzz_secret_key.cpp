// libFuzzer target: the secret_key reader.
#define CU_FUZZ_LOAD(b, c) (void)cryptounet::ckks::load_secret_key(b, c)
#include "fuzz_loader.h"
