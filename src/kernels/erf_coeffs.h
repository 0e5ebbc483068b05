// The piecewise erf table shared by every vectorised GELU. Produced by
// tools/dev/fit_erf.cpp (Chebyshev interpolation in long double on each
// interval, converted to monomials):
//   z ∈ [i/2, i/2 + 1/2), i = 0..7:  erf(z) = Σ_j kErfTable[j][i] · t^j,  t = z − i/2
//   z ≥ 4:                            erf(z) = 1 in float.
// Row j holds coefficient j of all eight intervals, so a vector picks each
// lane's coefficient with one permute (vpermps) by interval index.
#pragma once

namespace qp::kernels {

inline constexpr int kErfIntervals = 8;
inline constexpr float kErfIntervalsPerUnit = 2.0f;  // intervals of width 1/2
inline constexpr float kErfSaturate = 4.0f;

inline constexpr float kErfTable[7][8] = {
    {-1.723258158e-08f, 5.204998851e-01f, 8.427007794e-01f, 9.661051631e-01f, 9.953222871e-01f,
     9.995930195e-01f, 9.999778867e-01f, 9.999992847e-01f},
    {1.128382564e+00f, 8.787793517e-01f, 4.151065350e-01f, 1.189314201e-01f, 2.066716924e-02f,
     2.178162104e-03f, 1.392165286e-04f, 5.395630069e-06f},
    {-1.095552288e-04f, -4.392893016e-01f, -4.150755405e-01f, -1.784317642e-01f, -4.134006426e-02f,
     -5.441796035e-03f, -4.165756691e-04f, -1.877414070e-05f},
    {-3.747828603e-01f, -1.476708353e-01f, 1.379635930e-01f, 1.391883343e-01f, 4.830051959e-02f,
     8.303001523e-03f, 7.745395997e-04f, 4.075153265e-05f},
    {-7.955433801e-03f, 1.897984147e-01f, 7.172325253e-02f, -4.709200189e-02f, -3.493378311e-02f,
     -8.352573961e-03f, -9.574993746e-04f, -5.828712892e-05f},
    {1.375389099e-01f, -1.133108512e-02f, -7.780439407e-02f, -7.589404471e-03f, 1.477395277e-02f,
     5.325742066e-03f, 7.413260173e-04f, 5.097199028e-05f},
    {-3.948783875e-02f, -2.661922388e-02f, 2.068483829e-02f, 9.039151482e-03f, -2.795148641e-03f,
     -1.666593715e-03f, -2.724774822e-04f, -2.051216688e-05f},
};

// max |erf error| in float = 7.703e-08 at z = 0.999975

}  // namespace qp::kernels
