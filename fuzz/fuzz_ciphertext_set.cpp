// libFuzzer target: the ciphertext_set reader.
#define CU_FUZZ_LOAD(b, c) (void)cryptounet::ckks::load_ciphertext_set(b, c)
#include "fuzz_loader.h"
