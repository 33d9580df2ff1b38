// The consumer projects' program: a ReLU and a softmax on the best device, checked by hand.
#include <vkgrad/vkgrad.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() try {
  vkgrad::Context ctx;
  auto x = vkgrad::Tensor::from(ctx, {1, 3}, std::vector<float>{-1.0f, 0.0f, 2.0f});
  vkgrad::Tensor y(ctx, {1, 3}), p(ctx, {1, 3});
  vkgrad::CommandList cmd(ctx);
  vkgrad::activation_forward(cmd, vkgrad::Activation::relu, x, y);
  vkgrad::softmax_forward(cmd, x, p);
  cmd.run();
  const auto r = y.to_vector(), s = p.to_vector();
  const double e = std::exp(-1.0) + 1.0 + std::exp(2.0);
  const bool ok = r == std::vector<float>{0.0f, 0.0f, 2.0f} && std::fabs(s[2] - std::exp(2.0) / e) < 1e-6;
  std::printf("consumer on %s: %s\n", ctx.device().name.c_str(), ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
} catch (const vkgrad::Error& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
