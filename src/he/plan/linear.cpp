#include "cryptounet/he/plan/linear.h"

#include <algorithm>

#include "cryptounet/common/error.h"

namespace cryptounet::nn {

const char* strategy_name(LinearStrategy s) {
  return s == LinearStrategy::diagonal ? "diagonal" : "masked_scalar";
}

const char* tap_side_name(TapSide s) { return s == TapSide::taps_in ? "taps_in" : "taps_out"; }

std::vector<RowProduct> row_products(const LinearTerm& term) {
  std::vector<RowProduct> rows;
  bool any_zero = false;
  for (std::size_t q = 0; q < term.weight.size(); ++q) {
    if (!term.care[q]) continue;
    if (term.weight[q] == 0.0)
      any_zero = true;
    else
      rows.push_back({static_cast<int>(q), term.weight[q]});
  }
  if (rows.empty()) return rows;
  bool uniform = !any_zero && std::all_of(rows.begin(), rows.end(), [&](const RowProduct& r) {
    return r.weight == rows.front().weight;
  });
  if (uniform) return {{-1, rows.front().weight}};
  return rows;
}

BiasKind bias_kind(const std::vector<double>& bias, const std::vector<char>& care) {
  bool any = false, first = true, uniform = true;
  double v = 0.0;
  for (std::size_t r = 0; r < bias.size(); ++r) {
    if (!care[r]) continue;
    if (bias[r] != 0.0) any = true;
    if (first) {
      v = bias[r];
      first = false;
    } else if (bias[r] != v) {
      uniform = false;
    }
  }
  if (!any) return BiasKind::none;
  return uniform ? BiasKind::constant : BiasKind::plaintext;
}

}  // namespace cryptounet::nn
