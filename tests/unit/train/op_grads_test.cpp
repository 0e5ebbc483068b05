// Each training op's backward against central finite differences of its
// forward (grad_check.h).
#include <gtest/gtest.h>

#include <cmath>

#include "core/thread_pool.h"
#include "grad_check.h"
#include "kernels/kernels.h"
#include "models/pooling.h"
#include "train/activation_grad.h"
#include "train/attention_grad.h"
#include "train/linear_grad.h"
#include "train/losses.h"
#include "train/matmul.h"
#include "train/norm_grad.h"
#include "train/pooling_grad.h"

namespace qp::train {
namespace {

using testing::dot;
using testing::expect_gradient;
using testing::random_values;

TEST(TrainMatmul, ThreeFormsMatchPlainLoops) {
  ThreadPool pool(2);
  const int m = 7, n = 13, k = 37;
  const auto a = random_values(m * k, 1), b_nk = random_values(n * k, 2), b_kn = random_values(k * n, 3),
             a_km = random_values(k * m, 4);
  std::vector<float> c(m * n);
  matmul_abt(a.data(), b_nk.data(), c.data(), m, n, k, pool);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double want = 0;
      for (int p = 0; p < k; ++p) want += a[i * k + p] * b_nk[j * k + p];
      EXPECT_NEAR(c[i * n + j], want, 1e-4);
    }
  matmul_ab(a.data(), b_kn.data(), c.data(), m, n, k, pool);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double want = 0;
      for (int p = 0; p < k; ++p) want += a[i * k + p] * b_kn[p * n + j];
      EXPECT_NEAR(c[i * n + j], want, 1e-4);
    }
  matmul_atb(a_km.data(), b_kn.data(), c.data(), m, n, k, pool);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double want = 0;
      for (int p = 0; p < k; ++p) want += a_km[p * m + i] * b_kn[p * n + j];
      EXPECT_NEAR(c[i * n + j], want, 1e-4);
    }
}

TEST(TrainOpGrads, Linear) {
  ThreadPool pool(2);
  const int t = 5, n = 6, k = 9;
  auto x = random_values(t * k, 1), w = random_values(n * k, 2), b = random_values(n, 3);
  const auto r = random_values(t * n, 4);
  auto loss = [&] {
    std::vector<float> y(t * n);
    linear_forward(x.data(), t, w.data(), b.data(), n, k, y.data(), pool);
    return dot(y, r);
  };
  std::vector<float> dx(t * k), dw(n * k, 0.0f), db(n, 0.0f);
  linear_backward(r.data(), x.data(), t, w.data(), n, k, dx.data(), false, dw.data(), db.data(), pool);
  expect_gradient("dx", x, dx, loss);
  expect_gradient("dw", w, dw, loss);
  expect_gradient("db", b, db, loss);
  // Accumulation adds to what is there.
  std::vector<float> dx2(t * k, 1.0f);
  linear_backward(r.data(), x.data(), t, w.data(), n, k, dx2.data(), true, nullptr, nullptr, pool);
  for (int i = 0; i < t * k; ++i) EXPECT_NEAR(dx2[i], dx[i] + 1.0f, 1e-5);
}

TEST(TrainOpGrads, LayerNorm) {
  ThreadPool pool(2);
  const int rows = 4, cols = 16;
  auto x = random_values(rows * cols, 5, 2.0f), gamma = random_values(cols, 6), beta = random_values(cols, 7);
  const auto r = random_values(rows * cols, 8);
  auto loss = [&] {
    std::vector<float> y(rows * cols);
    NormStats stats;
    layer_norm_forward(x.data(), rows, cols, gamma.data(), beta.data(), 1e-12f, y.data(), stats, pool);
    return dot(y, r);
  };
  std::vector<float> y(rows * cols), dx(rows * cols), dg(cols, 0.0f), dbeta(cols, 0.0f);
  NormStats stats;
  layer_norm_forward(x.data(), rows, cols, gamma.data(), beta.data(), 1e-12f, y.data(), stats, pool);
  layer_norm_backward(r.data(), x.data(), rows, cols, gamma.data(), stats, dx.data(), dg.data(), dbeta.data(),
                      pool);
  expect_gradient("dx", x, dx, loss, 1e-2, 3e-3, 3e-2);
  expect_gradient("dgamma", gamma, dg, loss);
  expect_gradient("dbeta", beta, dbeta, loss);
}

TEST(TrainOpGrads, GeluAndTanh) {
  ThreadPool pool(2);
  const int n = 64;
  auto x = random_values(n, 9, 2.0f);
  const auto r = random_values(n, 10);
  std::vector<float> dx(n), y(n);
  gelu_backward(r.data(), x.data(), n, dx.data(), pool);
  // Against the forward the encoder runs: the engine's GELU kernel.
  expect_gradient("gelu", x, dx, [&] {
    y = x;
    kernels::gelu(y.data(), n, pool);
    return dot(y, r);
  });
  tanh_forward(x.data(), n, y.data(), pool);
  tanh_backward(r.data(), y.data(), n, dx.data(), pool);
  expect_gradient("tanh", x, dx, [&] {
    std::vector<float> out(n);
    tanh_forward(x.data(), n, out.data(), pool);
    return dot(out, r);
  });
}

TEST(TrainOpGrads, AttentionOverPackedSequences) {
  ThreadPool pool(2);
  const AttentionShape shape{2, 4, 0.5f};
  const std::vector<int32_t> offsets = {0, 3, 8, 9};  // lengths 3, 5 and 1
  const int t = 9, h = shape.hidden();
  auto qkv = random_values(t * 3 * h, 11);
  const auto r = random_values(t * h, 12);
  auto loss = [&] {
    std::vector<float> context(t * h), probs;
    attention_forward(qkv.data(), offsets, shape, context.data(), probs, pool);
    return dot(context, r);
  };
  std::vector<float> context(t * h), probs, d_qkv(t * 3 * h);
  attention_forward(qkv.data(), offsets, shape, context.data(), probs, pool);
  attention_backward(r.data(), qkv.data(), probs, offsets, shape, d_qkv.data(), pool);
  expect_gradient("d_qkv", qkv, d_qkv, loss);
  // No query sees another sequence's keys: changing sequence 1 leaves sequence 0 alone.
  std::vector<float> before(context.begin(), context.begin() + 3 * h);
  for (int row = 3; row < 8; ++row) qkv[row * 3 * h + h] += 5.0f;  // a key of sequence 1
  attention_forward(qkv.data(), offsets, shape, context.data(), probs, pool);
  for (int i = 0; i < 3 * h; ++i) EXPECT_EQ(context[i], before[i]);
}

TEST(TrainOpGrads, PoolingAndNormalize) {
  const std::vector<int32_t> offsets = {0, 2, 7};
  const int t = 7, w = 5;
  auto hidden = random_values(t * w, 13);
  const auto r = random_values(2 * w, 14);
  EncoderBatch batch;
  batch.input_ids.assign(t, 0);
  batch.seq_offsets = offsets;
  for (PoolingMode mode : {PoolingMode::Mean, PoolingMode::Cls}) {
    std::vector<float> d_hidden(t * w, 0.0f);
    pool_backward(r.data(), offsets, w, mode, d_hidden.data());
    expect_gradient(mode == PoolingMode::Mean ? "mean" : "cls", hidden, d_hidden,
                    [&] { return dot(pool_sequences(hidden, w, batch, mode), r); });
  }
  auto x = random_values(2 * w, 15);
  std::vector<float> y = x, dx(2 * w);
  l2_normalize_rows(y, w);
  l2_normalize_backward(r.data(), x.data(), y.data(), 2, w, dx.data());
  expect_gradient("normalize", x, dx, [&] {
    std::vector<float> out = x;
    l2_normalize_rows(out, w);
    return dot(out, r);
  });
  EXPECT_THROW(pool_backward(r.data(), offsets, w, PoolingMode::Max, dx.data()), std::exception);
}

TEST(TrainLosses, GradientsAndValues) {
  const int rows = 3, classes = 4;
  auto student = random_values(rows * classes, 16, 2.0f);
  const auto teacher = random_values(rows * classes, 17, 2.0f);
  std::vector<float> grad(rows * classes), scratch(rows * classes);
  for (float temperature : {1.0f, 2.0f}) {
    soft_kl_loss(student.data(), teacher.data(), rows, classes, temperature, grad.data());
    expect_gradient("kl", student, grad, [&] {
      return soft_kl_loss(student.data(), teacher.data(), rows, classes, temperature, scratch.data());
    });
  }
  // KL of identical distributions is 0; of different ones positive.
  EXPECT_NEAR(soft_kl_loss(teacher.data(), teacher.data(), rows, classes, 2.0f, scratch.data()), 0.0, 1e-6);
  EXPECT_GT(soft_kl_loss(student.data(), teacher.data(), rows, classes, 2.0f, scratch.data()), 0.01);
  mse_loss(student.data(), teacher.data(), rows * classes, grad.data());
  expect_gradient("mse", student, grad,
                  [&] { return mse_loss(student.data(), teacher.data(), rows * classes, scratch.data()); });
  cosine_loss(student.data(), teacher.data(), rows, classes, grad.data());
  expect_gradient("cosine", student, grad,
                  [&] { return cosine_loss(student.data(), teacher.data(), rows, classes, scratch.data()); });
  EXPECT_NEAR(cosine_loss(teacher.data(), teacher.data(), rows, classes, scratch.data()), 0.0, 1e-6);
}

}  // namespace
}  // namespace qp::train
