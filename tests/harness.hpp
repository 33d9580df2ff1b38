// Shared test helpers: the process-wide test context, validation-message checks, deterministic
// inputs and the tolerance comparison every conformance test uses.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <vkgrad/vkgrad.hpp>

namespace vkgrad::test {

/// One Context per test process, created on first use (validation follows VKGRAD_VALIDATION).
Context& context();
/// The test context if a test created it, else null.
Context* existing_context();
/// Destroys the test context (main() does so before returning, see tests/main.cpp) and returns what
/// went wrong while doing so: every validation message reported during the destruction (objects left
/// alive, for one), and a line if anything (a tensor or command list kept in a static) still holds the
/// device so that it could not be destroyed. Empty when all is well or no test created a context.
std::vector<std::string> destroy_context();

/// While it lives, context() is a context created with the current context()'s options changed by
/// `adjust` (a GEMM path, a row-reduction layout), so a test body that uses context() runs on that
/// path, and ScopedContexts nest (the inner one keeps the outer one's changes); the previous context
/// comes back when it goes away. Tensors made in its lifetime must go with it.
class ScopedContext {
 public:
  explicit ScopedContext(const std::function<void(ContextOptions&)>& adjust);
  ~ScopedContext();
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;

 private:
  std::unique_ptr<Context> saved_;
  ContextOptions saved_options_;
};

/// Makes context()'s device report a limit of `groups` workgroups per dispatch dimension
/// (maxComputeWorkGroupCount), so that launchers cap their grids there and the kernels' loops over
/// more work than one grid covers run at small sizes. Call it inside a ScopedContext: the limit goes
/// with that context.
void limit_workgroup_count(uint32_t groups);

/// The GEMM main loops of the test context's kernel set: tiled for gpu, direct and broadcast for cpu.
/// Tests that run every path run these; scripts/test.sh runs the suite on both kernel sets, so each
/// path is checked in the run whose kernel set uses it.
std::vector<GemmPath> kernel_set_gemm_paths();

/// Runs `body` once with each GEMM main loop of the kernel set (the gpu set's shared-memory tiles;
/// the cpu set's direct loop and its broadcast variant, which falls back to direct where the device
/// cannot run it), each on a ScopedContext of its own, so every path is conformance-tested in the
/// suite run on its kernel set.
void for_each_gemm_path(const std::function<void()>& body);

/// Fails the current test if the validation layer reported anything since the last call, printing
/// every message; then clears them.
void require_no_validation_messages();

/// Checks that use() throws InvalidArgument whose message contains every one of `needles`.
void require_refused(const std::function<void()>& use, std::initializer_list<const char*> needles);

/// The NaN vkgrad tests poison outputs with before every run.
inline constexpr float poison = std::numeric_limits<float>::quiet_NaN();

/// Deterministic uniform floats in [lo, hi).
std::vector<float> uniform(std::size_t n, float lo, float hi, uint64_t seed);

/// |got - expected| <= atol + rtol·|expected|, NaN matches only NaN, ±inf only the same inf.
inline bool close(double got, double expected, double rtol, double atol) {
  if (std::isnan(expected)) return std::isnan(got);
  if (std::isinf(expected)) return got == expected;
  if (!std::isfinite(got)) return false;
  return std::fabs(got - expected) <= atol + rtol * std::fabs(expected);
}

/// Which code produced two runs of one op that a test compares with run_differences.
enum class Modules {
  /// One SPIR-V module on one device (a replay, a second dtype read through the same texel view):
  /// the same bits are promised.
  same,
  /// Two separately compiled modules of the same arithmetic (a shader variant against another): a
  /// compiler may contract a·b + c into one fused multiply-add in one module and not in the other,
  /// so they agree within the default tolerance instead.
  separate,
};

/// "" when `a` and `b`, the outputs of one op computed twice, agree, else how many elements differ,
/// the first one and the worst. NaN must meet NaN (payload and sign aside: IEEE 754 leaves them to
/// the arithmetic) and ±inf the same inf everywhere. Finite values: with Modules::same the same
/// bits; with Modules::separate |a − b| ≤ 1e-6 + 1e-5·max(|a|, |b|, scale[i]). One contraction
/// changes a result by at most 2^-24 times the product it fuses, so scale[i] is the magnitude of the
/// largest term the op rounds on the way to element i (e.g. Σ_k|a·b| for a matrix product, whose
/// terms may cancel); empty means the outputs themselves.
std::string run_differences(const std::vector<float>& a, const std::vector<float>& b, Modules modules,
                            const std::vector<double>& scale = {});

/// The outcome of comparing a GPU result against a reference: mismatch count and the worst element.
struct Mismatch {
  std::size_t count = 0;
  std::size_t worst_index = 0;
  double worst_excess = -1;  ///< error / allowed error of the worst element (> 1 fails)
  double got = 0, expected = 0;
};

Mismatch compare(const std::vector<float>& got, const std::vector<double>& expected, double rtol, double atol);

/// A fresh directory under the system temp dir, unique to this process and `tag`, removed (with
/// its permissions restored first, so a test may make it read-only) when the object goes away.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace vkgrad::test
