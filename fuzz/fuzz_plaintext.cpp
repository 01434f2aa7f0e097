// libFuzzer target: the plaintext reader.
#define CU_FUZZ_LOAD(b, c) (void)cryptounet::ckks::load_plaintext(b, c)
#include "fuzz_loader.h"
