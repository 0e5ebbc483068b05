// Derives the piecewise erf table used by the vectorised GELU
// (src/kernels/erf_coeffs.h). Not part of the build; run it by hand:
//   g++ -O2 -std=c++20 tools/dev/fit_erf.cpp -o /tmp/fit_erf && /tmp/fit_erf
// erf(z) on z ∈ [0, 4) is cut into 8 intervals of 0.5; interval i holds a
// polynomial of degree kDegree in t = z − i/2 ∈ [0, 0.5). Eight intervals is
// what one AVX2 vpermps (8 lanes) or AVX-512 vpermps (16 lanes) can pick a
// coefficient from per lane, so a vector evaluates each lane's own piece with
// one permute and one multiply-add a coefficient: no exp, no second piece.
// Method: Chebyshev interpolation in long double on each interval (close to
// minimax), conversion to monomials in t, then a check of the float Horner
// evaluation against erfl over a dense grid.
#include <cmath>
#include <cstdio>
#include <vector>

namespace {

using Real = long double;
constexpr Real kPi = 3.141592653589793238462643383279502884L;
constexpr int kDegree = 6;
constexpr int kIntervals = 8;
constexpr Real kWidth = 0.5L;

// Chebyshev interpolation coefficients of f on s ∈ [-1, 1].
template <typename F>
std::vector<Real> chebyshev(F f, int deg) {
  const int nodes = deg + 1;
  std::vector<Real> c(nodes, 0);
  for (int j = 0; j < nodes; ++j) {
    for (int i = 0; i < nodes; ++i) {
      const Real theta = kPi * (i + 0.5L) / nodes;
      c[j] += f(std::cos(theta)) * std::cos(j * theta);
    }
    c[j] *= (j == 0 ? 1.0L : 2.0L) / nodes;
  }
  return c;
}

// Σ c_j T_j(s) as Σ a_i s^i (T_{j+1} = 2s T_j − T_{j−1}).
std::vector<Real> to_monomial(const std::vector<Real>& c) {
  const size_t n = c.size();
  std::vector<Real> a(n, 0), prev(n, 0), cur(n, 0), next(n, 0);
  prev[0] = 1;
  if (n > 1) cur[1] = 1;
  for (size_t j = 0; j < n; ++j) {
    const std::vector<Real>& tj = j == 0 ? prev : cur;
    for (size_t i = 0; i < n; ++i) a[i] += c[j] * tj[i];
    if (j >= 1) {
      std::fill(next.begin(), next.end(), 0);
      for (size_t i = 0; i + 1 < n; ++i) next[i + 1] = 2 * cur[i];
      for (size_t i = 0; i < n; ++i) next[i] -= prev[i];
      prev = cur;
      cur = next;
    }
  }
  return a;
}

// Σ a_i s^i with s = α·t + β, as Σ b_i t^i (binomial expansion).
std::vector<Real> substitute(const std::vector<Real>& a, Real alpha, Real beta) {
  const size_t n = a.size();
  std::vector<Real> b(n, 0);
  for (size_t i = 0; i < n; ++i) {
    // (α t + β)^i = Σ_k C(i,k) α^k β^(i−k) t^k
    Real binom = 1;
    for (size_t k = 0; k <= i; ++k) {
      b[k] += a[i] * binom * std::pow(alpha, Real(k)) * std::pow(beta, Real(i - k));
      binom = binom * Real(i - k) / Real(k + 1);
    }
  }
  return b;
}

}  // namespace

int main() {
  // coefficient j of interval i, printed as table[j][i] (one vector a power).
  std::vector<std::vector<float>> table(kDegree + 1, std::vector<float>(kIntervals));
  for (int i = 0; i < kIntervals; ++i) {
    const Real z0 = i * kWidth;
    // t = (s + 1)·w/2, so s = (2/w)·t − 1.
    auto f = [&](Real s) { return std::erf(z0 + (s + 1) * kWidth / 2); };
    const auto in_t = substitute(to_monomial(chebyshev(f, kDegree)), 2 / kWidth, -1);
    for (int j = 0; j <= kDegree; ++j) table[j][i] = static_cast<float>(in_t[j]);
  }
  std::printf("inline constexpr float kErfTable[%d][%d] = {\n", kDegree + 1, kIntervals);
  for (int j = 0; j <= kDegree; ++j) {
    std::printf("    {");
    for (int i = 0; i < kIntervals; ++i) std::printf("%s%.9ef", i ? ", " : "", table[j][i]);
    std::printf("},\n");
  }
  std::printf("};\n");
  double worst = 0, worst_z = 0;
  for (int n = 0; n <= 800000; ++n) {
    const float z = 4.0f * n / 800000;
    float e = 1;
    if (z < 4) {
      const int i = static_cast<int>(z * 2);
      const float t = z - 0.5f * i;
      float r = table[kDegree][i];
      for (int j = kDegree - 1; j >= 0; --j) r = std::fmaf(r, t, table[j][i]);
      e = r;
    }
    const double err = std::fabs(e - static_cast<double>(std::erf(static_cast<Real>(z))));
    if (err > worst) worst = err, worst_z = z;
  }
  std::printf("// max |erf error| in float = %.3e at z = %.6f\n", worst, worst_z);
}
