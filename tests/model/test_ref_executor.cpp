// The float64 reference executor on hand-computed cases.
#include "cryptounet/common/error.h"
#include "cryptounet/model/ref_executor.h"

#include <gtest/gtest.h>

namespace cryptounet::nn {
namespace {

Tensor make(Shape s, std::vector<double> v) {
  Tensor t(s);
  t.data = std::move(v);
  return t;
}

Node conv_node(int cin, int cout, int k, std::vector<double> w, std::vector<double> b, int h,
               int wd) {
  Node n;
  n.name = "conv";
  n.kind = OpKind::Conv2d;
  n.kernel = k;
  n.pad = k / 2;
  n.shape = {cout, h, wd};
  n.weight = std::move(w);
  n.bias = std::move(b);
  (void)cin;
  return n;
}

/// A node without weights: `kind` over the nodes `inputs`, output `shape`.
Node op_node(const std::string& name, OpKind kind, std::vector<int> inputs, Shape shape) {
  Node n;
  n.name = name;
  n.kind = kind;
  n.inputs = std::move(inputs);
  n.shape = std::move(shape);
  return n;
}

TEST(RefExecutor, Conv3x3SamePaddingByHand) {
  // 3x3 input 1..9, kernel all ones: each output is the sum of its 3x3 neighbourhood in bounds.
  const Tensor x = make({1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const Node n = conv_node(1, 1, 3, std::vector<double>(9, 1.0), {0.5}, 3, 3);
  const Tensor y = conv2d(n, x);
  const std::vector<double> want = {12, 21, 16, 27, 45, 33, 24, 39, 28};
  for (int i = 0; i < 9; ++i) EXPECT_DOUBLE_EQ(y.data[i], want[i] + 0.5) << i;
}

TEST(RefExecutor, Conv3x3KernelOrientation) {
  // Only the weight at (ky, kx) = (0, 2) is set: y(r, c) = x(r - 1, c + 1) (cross-correlation).
  const Tensor x = make({1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  std::vector<double> w(9, 0.0);
  w[2] = 1.0;
  const Tensor y = conv2d(conv_node(1, 1, 3, w, {0}, 3, 3), x);
  const std::vector<double> want = {0, 0, 0, 2, 3, 0, 5, 6, 0};
  for (int i = 0; i < 9; ++i) EXPECT_DOUBLE_EQ(y.data[i], want[i]) << i;
}

TEST(RefExecutor, Conv1x1MixesChannels) {
  const Tensor x = make({2, 1, 2}, {1, 2, 10, 20});
  // out0 = 1*c0 + 2*c1 + 1; out1 = -1*c0 + 0*c1; out2 = 0.5*c1
  const Tensor y = conv2d(conv_node(2, 3, 1, {1, 2, -1, 0, 0, 0.5}, {1, 0, 0}, 1, 2), x);
  const std::vector<double> want = {22, 43, -1, -2, 5, 10};
  for (int i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(y.data[i], want[i]) << i;
}

TEST(RefExecutor, ConvTransposeByHand) {
  Node n;
  n.name = "up";
  n.kind = OpKind::ConvTranspose2d;
  n.kernel = 2;
  n.stride = 2;
  n.shape = {1, 2, 4};
  n.weight = {1, 2, 3, 4};  // [in=1][out=1][2][2]
  n.bias = {0.25};
  const Tensor x = make({1, 1, 2}, {1, 10});
  const Tensor y = conv_transpose2d(n, x);
  const std::vector<double> want = {1, 2, 10, 20, 3, 4, 30, 40};
  for (int i = 0; i < 8; ++i) EXPECT_DOUBLE_EQ(y.data[i], want[i] + 0.25) << i;
}

TEST(RefExecutor, PoolSquareConcatAdd) {
  const Tensor x = make({1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  const Tensor p = avg_pool2d(x);
  EXPECT_EQ(p.shape, (Shape{1, 1, 2}));
  EXPECT_DOUBLE_EQ(p.data[0], 3.5);
  EXPECT_DOUBLE_EQ(p.data[1], 5.5);
  const Tensor s = square(make({1, 1, 2}, {-3, 0.5}));
  EXPECT_DOUBLE_EQ(s.data[0], 9);
  EXPECT_DOUBLE_EQ(s.data[1], 0.25);
  const Tensor c = concat({&p, &s});
  EXPECT_EQ(c.shape, (Shape{2, 1, 2}));
  EXPECT_EQ(c.data, (std::vector<double>{3.5, 5.5, 9, 0.25}));
  const Tensor a = add(p, s);
  EXPECT_EQ(a.data, (std::vector<double>{12.5, 5.75}));
  EXPECT_THROW((void)add(p, c), InvalidArgument);
  EXPECT_THROW((void)avg_pool2d(make({1, 1, 3}, {1, 2, 3})), InvalidArgument);
}

TEST(RefExecutor, RunsGraphAndKeepsIntermediates) {
  Graph g;
  Node in;
  in.name = "input";
  in.shape = {1, 2, 2};
  g.nodes.push_back(in);
  Node c = conv_node(1, 1, 1, {2}, {1}, 2, 2);  // y = 2x + 1
  c.inputs = {0};
  g.nodes.push_back(c);
  g.nodes.push_back(op_node("sq", OpKind::Square, {1}, {1, 2, 2}));
  g.nodes.push_back(op_node("pool", OpKind::AvgPool2d, {2}, {1, 1, 1}));
  g.output = 3;
  const Tensor x = make({1, 2, 2}, {0, 1, 2, 3});
  const auto all = run_reference_all(g, x);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[1].data, (std::vector<double>{1, 3, 5, 7}));
  EXPECT_EQ(all[2].data, (std::vector<double>{1, 9, 25, 49}));
  EXPECT_DOUBLE_EQ(run_reference(g, x).data[0], 21.0);
  EXPECT_EQ(g.depth(), 2);
  EXPECT_THROW((void)run_reference(g, make({1, 1, 2}, {0, 1})), InvalidArgument);
}

}  // namespace
}  // namespace cryptounet::nn
