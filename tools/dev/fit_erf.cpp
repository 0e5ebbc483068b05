// Derives the erf polynomial coefficients used by the vectorised GELU
// (src/kernels/erf_coeffs.h). Not part of the build; run it by hand:
//   g++ -O2 -std=c++20 tools/dev/fit_erf.cpp -o /tmp/fit_erf && /tmp/fit_erf
// Method: Chebyshev interpolation in long double on each piece (close to the
// minimax fit), conversion to monomials in the scaled variable t ∈ [-1, 1],
// then a check of the float Horner evaluation against erfl over a dense grid.
#include <cmath>
#include <cstdio>
#include <vector>

namespace {

using Real = long double;
constexpr Real kPi = 3.141592653589793238462643383279502884L;

// Chebyshev interpolation coefficients of f on t ∈ [-1, 1], degree `deg`.
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

// Σ c_j T_j(t) rewritten as Σ a_i t^i (T_{j+1} = 2t T_j − T_{j−1}).
std::vector<Real> to_monomial(const std::vector<Real>& c) {
  const size_t n = c.size();
  std::vector<Real> a(n, 0), prev(n, 0), cur(n, 0), next(n, 0);
  prev[0] = 1;            // T_0
  if (n > 1) cur[1] = 1;  // T_1
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

float horner(const std::vector<float>& a, float t) {
  float r = a.back();
  for (int i = static_cast<int>(a.size()) - 2; i >= 0; --i) r = std::fmaf(r, t, a[i]);
  return r;
}

std::vector<float> to_float(const std::vector<Real>& a) { return {a.begin(), a.end()}; }

void print(const char* name, const std::vector<float>& a) {
  std::printf("inline constexpr float %s[%zu] = {", name, a.size());
  for (size_t i = 0; i < a.size(); ++i) std::printf("%s%.9ef", i ? ", " : "", a[i]);
  std::printf("};\n");
}

}  // namespace

int main() {
  // Piece 1, z ∈ [0, 1]: erf(z) = z·g(u), u = z², t = 2u − 1.
  const int deg1 = 8, deg2 = 11;
  auto g = [](Real t) {
    const Real u = (t + 1) / 2;
    if (u == 0) return 2 / std::sqrt(kPi);
    return std::erf(std::sqrt(u)) / std::sqrt(u);
  };
  // Piece 2, z ∈ [1, 4]: erfc(z) = exp(−z²)·h(z), t = (2z − 5)/3.
  auto h = [](Real t) {
    const Real z = (3 * t + 5) / 2;
    return std::erfc(z) * std::exp(z * z);
  };
  const auto a1 = to_float(to_monomial(chebyshev(g, deg1)));
  const auto a2 = to_float(to_monomial(chebyshev(h, deg2)));
  print("kErfSmall", a1);
  print("kErfcScaled", a2);
  double worst = 0, worst_z = 0;
  for (int i = 0; i <= 400000; ++i) {
    const float z = 4.5f * i / 400000;
    float e;
    if (z <= 1) {
      const float u = z * z;
      e = z * horner(a1, 2 * u - 1);
    } else if (z < 4) {
      e = 1 - std::exp(-z * z) * horner(a2, (2 * z - 5) / 3);
    } else {
      e = 1;
    }
    const double err = std::fabs(e - static_cast<double>(std::erf(static_cast<Real>(z))));
    if (err > worst) worst = err, worst_z = z;
  }
  std::printf("// max |erf error| in float = %.3e at z = %.6f\n", worst, worst_z);
}
