// Polynomial coefficients for erf in float, shared by every vectorised GELU.
// Produced by tools/dev/fit_erf.cpp (Chebyshev interpolation in long double,
// converted to monomials in a variable t scaled to [-1, 1]):
//   z ∈ [0, 1]:  erf(z)  = z · P(t),           t = 2z² − 1
//   z ∈ [1, 4]:  erfc(z) = exp(−z²) · Q(t),    t = (2z − 5) / 3
//   z ≥ 4:       erf(z)  = 1 in float.
// The pieces keep the Horner sums free of cancellation, so float evaluation
// stays within about 1e-7 absolute of std::erf.
#pragma once

namespace qp::kernels {

inline constexpr float kErfSmall[9] = {9.654687643e-01f,  -1.405360848e-01f, 1.985249668e-02f,
                                       -2.285485622e-03f, 2.175171539e-04f,  -1.753682409e-05f,
                                       1.223367235e-06f,  -7.557490278e-08f, 4.136476939e-09f};
inline constexpr float kErfcScaled[12] = {2.108063549e-01f,  -1.115210205e-01f, 5.611094832e-02f,
                                          -2.700545825e-02f, 1.248412300e-02f,  -5.568837747e-03f,
                                          2.425638959e-03f,  -1.013662550e-03f, 3.681510861e-04f,
                                          -1.474161400e-04f, 9.629120177e-05f,  -3.566417945e-05f};
// max |erf error| in float = 9.017e-08 at z = 0.981720

inline constexpr float kErfSplit = 1.0f;
inline constexpr float kErfSaturate = 4.0f;

}  // namespace qp::kernels
