// libFuzzer target: the ciphertext reader.
#define CU_FUZZ_LOAD(b, c) (void)cryptounet::ckks::load_ciphertext(b, c)
#include "fuzz_loader.h"
