#include "cryptounet/common/error.h"

#include <gtest/gtest.h>

namespace cryptounet {

TEST(ErrorTest, HierarchyIsCatchableAsError) {
  EXPECT_THROW(throw FormatError("ciphertext: truncated"), Error);
  EXPECT_THROW(throw SecurityError("params: insecure"), Error);
  EXPECT_THROW(throw Unsupported("onnx: Relu"), Error);
  try {
    throw InvalidArgument("rescale: ciphertext is at level 0");
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "rescale: ciphertext is at level 0");
  }
}

}  // namespace cryptounet
