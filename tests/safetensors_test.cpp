// The safetensors layer: byte-exact output against the format's specification, round trips of every
// supported dtype, and refusal (never a crash) of malformed, truncated and corrupted files.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <cstring>
#include <random>

#include "harness.hpp"
#include "platform.hpp"

namespace vkgrad::test {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A file built by hand: 8-byte little-endian length, the JSON text, the data.
std::string hand_file(const std::string& json, const std::string& data) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = char((uint64_t(json.size()) >> (8 * i)) & 0xff);
  return s + json + data;
}

HostTensor i32_tensor(std::vector<uint64_t> shape, std::vector<int32_t> v) {
  HostTensor h{"I32", std::move(shape), std::vector<uint8_t>(v.size() * 4)};
  std::memcpy(h.bytes.data(), v.data(), h.bytes.size());
  return h;
}

}  // namespace

TEST_CASE("save_safetensors writes exactly the bytes the format specifies", "[safetensors]") {
  TempDir dir("st");
  const float w[2] = {1.0f, -2.0f};
  save_safetensors(dir.path / "a.safetensors",
                   {{"w", HostTensor::from_floats({2}, w)}, {"n", HostTensor{"U8", {}, {7}}}}, {{"format", "pt"}});
  // Header JSON in insertion order, padded with spaces to a multiple of 8; data little endian.
  std::string json = R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                     R"("n":{"dtype":"U8","shape":[],"data_offsets":[8,9]}})";
  json.append((8 - json.size() % 8) % 8, ' ');
  const std::string data("\x00\x00\x80\x3f\x00\x00\x00\xc0\x07", 9);
  CHECK(read_file(dir.path / "a.safetensors") == hand_file(json, data));
}

TEST_CASE("safetensors matches the reference implementation's own test vectors", "[safetensors]") {
  TempDir dir("st");
  // huggingface/safetensors bindings/python/tests/test_simple.py, test_serialization: an I32 [2, 2]
  // of zeros named "test" serializes to a 64-byte header (60 bytes of JSON, 4 spaces) and 16 zeros.
  save_safetensors(dir.path / "ref.safetensors", {{"test", i32_tensor({2, 2}, {0, 0, 0, 0})}});
  const std::string expected = std::string("@\0\0\0\0\0\0\0", 8) +
                               R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}    )" +
                               std::string(16, '\0');
  CHECK(read_file(dir.path / "ref.safetensors") == expected);

  // A file as other writers produce it: no padding, __metadata__ after the tensors (the test vector
  // of the Go port's TestDeserialize, header length 0x59 = 89).
  const std::string json =
      R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"foo":"bar"}})";
  REQUIRE(json.size() == 0x59);
  write_file(dir.path / "go.safetensors", hand_file(json, std::string("\x01\0\0\0\x02\0\0\0\x03\0\0\0\x04\0\0\0", 16)));
  const auto file = load_safetensors(dir.path / "go.safetensors");
  CHECK(file.metadata == std::map<std::string, std::string>{{"foo", "bar"}});
  REQUIRE(file.tensors.size() == 1);
  CHECK(file.tensors[0].first == "test");
  CHECK(file.tensors[0].second.dtype == "I32");
  CHECK(file.tensors[0].second.shape == std::vector<uint64_t>{2, 2});
  CHECK(file.tensors[0].second.bytes == i32_tensor({2, 2}, {1, 2, 3, 4}).bytes);

  // "__metadata__": null is "no metadata" for the reference (an Option): accepted.
  write_file(dir.path / "null.safetensors", hand_file(R"({"__metadata__":null})", ""));
  CHECK(load_safetensors(dir.path / "null.safetensors").metadata.empty());
}

TEST_CASE("safetensors round trip of every dtype, scalars, empty tensors and metadata", "[safetensors]") {
  TempDir dir("st");
  HostTensor i64{"I64", {}, {1, 2, 3, 4, 5, 6, 7, 8}};
  const std::vector<float> f = uniform(3 * 5, -1, 1, 1);
  std::vector<std::pair<std::string, HostTensor>> tensors{{"0.weight", HostTensor::from_floats({3, 5}, f)},
                                                          {"1.num_batches_tracked", i64},
                                                          {"labels", i32_tensor({2, 2}, {1, -1, 1 << 30, 0})},
                                                          {"empty", HostTensor{"F32", {0, 4}, {}}},
                                                          {"u8", HostTensor{"U8", {3}, {0, 128, 255}}}};
  const std::map<std::string, std::string> meta{{"format", "pt"}, {"note", "ünïcode ✓"}};
  save_safetensors(dir.path / "r.safetensors", tensors, meta);
  const auto file = load_safetensors(dir.path / "r.safetensors");
  CHECK(file.metadata == meta);
  REQUIRE(file.tensors.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    const HostTensor* got = file.find(name);
    REQUIRE(got != nullptr);
    CHECK(got->dtype == t.dtype);
    CHECK(got->shape == t.shape);
    CHECK(got->bytes == t.bytes);
  }
  CHECK(file.find("missing") == nullptr);
  CHECK(file.find("0.weight")->to_floats() == f);
}

TEST_CASE("device tensors go to and from HostTensor, with shape and dtype checked", "[safetensors]") {
  Context& ctx = context();
  const auto v = uniform(12, -3, 3, 2);
  Tensor t = Tensor::from(ctx, {3, 4}, v);
  const HostTensor h = to_host(t);
  CHECK(h.dtype == "F32");
  CHECK(h.shape == std::vector<uint64_t>{3, 4});
  Tensor back(ctx, {3, 4});
  back.fill(poison);
  load_into(h, back, "x");
  CHECK(back.to_vector() == v);
  Tensor wrong(ctx, {4, 3}), ints(ctx, {3, 4}, DType::i32);
  CHECK_THROWS_WITH(load_into(h, wrong, "0.weight"),
                    Catch::Contains("'0.weight' is F32 [3, 4] but the model expects F32 [4, 3]"));
  CHECK_THROWS_WITH(load_into(h, ints, "x"), Catch::Contains("expects I32"));
  Tensor labels = Tensor::from<uint8_t>(ctx, {3}, std::vector<uint8_t>{1, 2, 3});
  CHECK(to_host(labels).bytes == std::vector<uint8_t>{1, 2, 3});
}

TEST_CASE("save_safetensors refuses bad names and sizes and leaves the old file intact", "[safetensors]") {
  TempDir dir("st");
  const fs::path p = dir.path / "keep.safetensors";
  save_safetensors(p, {{"a", HostTensor{"U8", {1}, {9}}}});
  const std::string before = read_file(p);
  CHECK_THROWS_WITH(save_safetensors(p, {{"a", HostTensor{"U8", {2}, {1}}}}), Catch::Contains("holds 1 bytes"));
  CHECK_THROWS_WITH(save_safetensors(p, {{"a", HostTensor{"U8", {1}, {1}}}, {"a", HostTensor{"U8", {1}, {1}}}}),
                    Catch::Contains("appears twice"));
  CHECK_THROWS_WITH(save_safetensors(p, {{"", HostTensor{"U8", {1}, {1}}}}), Catch::Contains("invalid tensor name"));
  CHECK_THROWS_WITH(save_safetensors(p, {{"b", HostTensor{"BF16", {1}, {1, 2}}}}),
                    Catch::Contains("unsupported dtype"));
  CHECK_THROWS_WITH(save_safetensors(p, {{"\xff", HostTensor{"U8", {1}, {1}}}}), Catch::Contains("not valid UTF-8"));
  CHECK_THROWS_WITH(save_safetensors(p, {}, {{"k", "\xc3"}}), Catch::Contains("not valid UTF-8"));
  CHECK(read_file(p) == before);
  // A directory the process may not write to, where its permissions are enforced (root ignores
  // them, and on Windows a directory's read-only attribute does not stop files being created).
  fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec);
  if (!std::ofstream(dir.path / "probe").is_open()) {
    CHECK_THROWS_AS(save_safetensors(p, {{"a", HostTensor{"U8", {1}, {1}}}}), Error);
    CHECK(read_file(p) == before);
  }
  fs::permissions(dir.path, fs::perms::owner_all);
  fs::remove(dir.path / "probe");
  CHECK_THROWS_WITH(save_safetensors(dir.path / "no" / "such" / "dir.safetensors", {}),
                    Catch::Contains("cannot create"));
  // Failures that also happen as root (which ignores the permissions above): the temporary file
  // cannot be created (its name is taken by a directory), and the rename over a non-empty directory
  // fails after the data was written. The old file stays and no temporary file is left behind.
  const fs::path tmp = p.string() + ".tmp-" + std::to_string(detail::platform::process_id());
  fs::create_directory(tmp);
  CHECK_THROWS_WITH(save_safetensors(p, {{"a", HostTensor{"U8", {1}, {1}}}}), Catch::Contains("cannot create"));
  CHECK(read_file(p) == before);
  fs::remove(tmp);
  const fs::path occupied = dir.path / "occupied";
  fs::create_directories(occupied / "inside");
  CHECK_THROWS_WITH(save_safetensors(occupied, {{"a", HostTensor{"U8", {1}, {1}}}}),
                    Catch::Contains("cannot rename") && Catch::Contains(occupied.string()));
  CHECK(fs::is_directory(occupied / "inside"));
  for (const auto& entry : fs::directory_iterator(dir.path)) {
    CAPTURE(entry.path());
    CHECK(entry.path().filename().string().find(".tmp-") == std::string::npos);
  }
}

TEST_CASE("load_safetensors refuses malformed files with a message naming the problem", "[safetensors]") {
  TempDir dir("st");
  const fs::path p = dir.path / "bad.safetensors";
  const std::string good_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string data8(8, '\x01');
  struct Case {
    std::string bytes, message;
  };
  std::string huge_length(8, '\0');
  huge_length[7] = 0x7f;
  const std::vector<Case> cases{
      {"", "too short"},
      {std::string("\x05\x00\x00", 3), "too short"},
      {huge_length, "exceeds 100 MB"},
      {hand_file("{" + good_entry + "}", data8).substr(0, 20), "runs past the end"},
      {hand_file("{\"a\":", ""), "not valid JSON"},
      {hand_file("[1,2]", ""), "not a JSON object"},
      {hand_file(R"({"a":5})", ""), "'a' is not an object"},
      {hand_file(R"({"a":{"dtype":"F32","shape":[2]}})", data8), "lacks dtype, shape or data_offsets"},
      {hand_file(R"({"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})", "1234"), "dtype 'BF16'"},
      {hand_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data8), "not a non-negative integer"},
      {hand_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", data8), "overflows"},
      {hand_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", data8), "two non-negative integers"},
      {hand_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", data8), "fall outside"},
      {hand_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", data8), "fall outside"},
      {hand_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data8), "but its data_offsets span 8"},
      {hand_file("{" + good_entry + "," + R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data8),
       "overlapping tensors or a hole"},
      {hand_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data8), "overlapping tensors or a hole"},
      {hand_file("{" + good_entry + "}", data8 + "xx"), "2 bytes after the last tensor"},
      {hand_file("{" + good_entry + "," + good_entry + "}", data8), "'a' appears twice"},
      {hand_file(R"({"__metadata__":{"k":1}})", ""), "__metadata__ value 'k' is not a string"},
      {hand_file(R"({"__metadata__":["k"]})", ""), "__metadata__ is not an object"},
      {hand_file(R"({"__metadata__":{"k":"v","k":"w"}})", ""), "key 'k' (in an entry or __metadata__) appears twice"},
      {hand_file(R"({"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})", data8),
       "key 'dtype' (in an entry or __metadata__) appears twice"},
      {hand_file(R"({"a":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})", data8), "dtype is not a string"},
      {hand_file(R"({"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", data8), "shape is not an array"},
      {hand_file(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", data8), "not a non-negative integer"},
      {hand_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})", data8), "two non-negative integers"},
      {hand_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}})", data8), "two non-negative integers"},
      {hand_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":"0,8"}})", data8), "two non-negative integers"},
      {hand_file("\"a\"", ""), "not a JSON object"},
      {hand_file("{\"\xff\":1}", ""), "not valid JSON"},  // the header must be UTF-8
      {hand_file("", ""), "not valid JSON"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.message);
    write_file(p, c.bytes);
    CHECK_THROWS_WITH(load_safetensors(p), Catch::Contains(c.message) && Catch::Contains(p.string()));
  }
  CHECK_THROWS_WITH(load_safetensors(dir.path / "missing.safetensors"), Catch::Contains("cannot read it"));
  CHECK_THROWS_WITH(load_safetensors(dir.path), Catch::Contains("cannot read it"));  // a directory
}

TEST_CASE("every truncation and random corruption of a valid file is refused or loaded, never a crash",
          "[safetensors]") {
  TempDir dir("st");
  const fs::path good = dir.path / "good.safetensors", p = dir.path / "mangled.safetensors";
  const auto f = uniform(6, -1, 1, 3);
  save_safetensors(
      good, {{"w", HostTensor::from_floats({2, 3}, f)}, {"s", HostTensor{"I64", {}, std::vector<uint8_t>(8, 1)}}},
      {{"format", "pt"}});
  const std::string bytes = read_file(good);
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    write_file(p, bytes.substr(0, len));
    CAPTURE(len);
    CHECK_THROWS_AS(load_safetensors(p), InvalidArgument);  // a strict prefix never holds a complete file
  }
  std::mt19937_64 rng(7);
  std::size_t loaded = 0, refused = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::string m = bytes;
    const int flips = 1 + int(rng() % 3);
    for (int k = 0; k < flips; ++k) m[rng() % m.size()] ^= char(1 + rng() % 255);
    write_file(p, m);
    try {
      const auto file = load_safetensors(p);
      ++loaded;  // e.g. a flipped data byte: still a valid file
      for (const auto& [name, t] : file.tensors) CHECK(t.bytes.size() == t.numel() * safetensors_dtype_size(t.dtype));
    } catch (const InvalidArgument&) {
      ++refused;
    }
  }
  CHECK(loaded > 0);
  CHECK(refused > 0);
}

}  // namespace vkgrad::test
