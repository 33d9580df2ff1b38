// The IDX reader: round trips (raw and gzip) and the refusal, with a message naming the problem, of
// every kind of malformed file — never a crash, an out-of-bounds read or a header-driven allocation.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "harness.hpp"

namespace vkgrad::test {
namespace {

namespace fs = std::filesystem;

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::vector<uint8_t> pattern(std::size_t n) {
  std::vector<uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = uint8_t(i * 31 + 7);
  return v;
}

}  // namespace

TEST_CASE("IDX files round-trip raw and gzip-compressed, with the MNIST header layout", "[idx]") {
  TempDir dir("idx");
  const std::vector<uint64_t> dims{3, 28, 28};
  const auto data = pattern(3 * 28 * 28);
  for (bool gz : {false, true}) {
    const fs::path p = dir.path / (gz ? "images.gz" : "images");
    write_idx(p, dims, data, gz);
    const auto a = read_idx(p);
    CHECK(a.dims == dims);
    CHECK(a.data == data);
    const std::string bytes = read_bytes(p);
    if (gz) {
      CHECK(uint8_t(bytes[0]) == 0x1f);  // really compressed
      CHECK(uint8_t(bytes[1]) == 0x8b);
    } else {
      // 00 00 08 03, then 3, 28, 28 as big-endian 32-bit words.
      CHECK(bytes.substr(0, 16) == std::string("\x00\x00\x08\x03\x00\x00\x00\x03\x00\x00\x00\x1c\x00\x00\x00\x1c", 16));
      CHECK(bytes.size() == 16 + data.size());
    }
  }
}

TEST_CASE("read_idx refuses malformed files, naming the file and the problem", "[idx]") {
  TempDir dir("idx");
  const fs::path p = dir.path / "bad-idx1-ubyte";
  const std::string labels_header("\x00\x00\x08\x01\x00\x00\x00\x05", 8);
  struct Case {
    std::string bytes, message;
  };
  const std::vector<Case> cases{
      {"", "shorter than the 4-byte IDX magic"},
      {std::string("\x00\x00", 2), "shorter than the 4-byte IDX magic"},
      {"GIF89a..", "bad magic"},
      {std::string("\x00\x00\x0d\x01\x00\x00\x00\x01\x00\x00\x00\x00", 12), "element type 0x0d is not supported"},
      {std::string("\x00\x00\x08\x00", 4), "0 dimensions"},
      {std::string("\x00\x00\x08\x05", 4), "5 dimensions"},
      {std::string("\x00\x00\x08\x01\x00\x00", 6), "truncated header"},
      {std::string("\x00\x00\x08\x02\x00\x00\x00\x00\x00\x00\x00\x03", 12), "dimension 0 is 0"},
      {labels_header + "abc", "the header promises 5 bytes of data, the file holds 3"},
      {labels_header + "abcdefg", "trailing bytes"},
      {std::string("\x00\x00\x08\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 16),
       "more than 1073741824 bytes"},
      {std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage-not-deflate", 29), "corrupt gzip data"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.message);
    write_bytes(p, c.bytes);
    CHECK_THROWS_WITH(read_idx(p), Catch::Contains(c.message) && Catch::Contains(p.string()));
  }
  CHECK_THROWS_WITH(read_idx(dir.path / "missing"), Catch::Contains("not found"));
  CHECK_THROWS_WITH(read_idx(dir.path), Catch::Contains("not found"));  // a directory
  // The limit applies to honest headers too.
  write_idx(p, std::vector<uint64_t>{100}, pattern(100));
  CHECK_THROWS_WITH(read_idx(p, IdxLimits{50}), Catch::Contains("more than 50 bytes"));
  CHECK(read_idx(p, IdxLimits{100}).data.size() == 100);
}

TEST_CASE("a truncated gzip file is refused at every length", "[idx]") {
  TempDir dir("idx");
  const fs::path good = dir.path / "good.gz", p = dir.path / "cut.gz";
  write_idx(good, std::vector<uint64_t>{40, 20}, pattern(800), true);
  const std::string bytes = read_bytes(good);
  for (std::size_t len = 0; len < bytes.size(); ++len) {  // including cuts inside the 8-byte CRC / size trailer
    CAPTURE(len);
    write_bytes(p, bytes.substr(0, len));
    CHECK_THROWS_AS(read_idx(p), InvalidArgument);
  }
}

TEST_CASE("load_idx_pair and load_idx_dataset check that images and labels belong together", "[idx]") {
  TempDir dir("idx");
  const auto images = pattern(5 * 4 * 3);
  write_idx(dir.path / "train-images-idx3-ubyte", std::vector<uint64_t>{5, 4, 3}, images);
  write_idx(dir.path / "train-labels-idx1-ubyte.gz", std::vector<uint64_t>{5}, std::vector<uint8_t>{0, 3, 1, 3, 2},
            true);
  write_idx(dir.path / "t10k-images-idx3-ubyte.gz", std::vector<uint64_t>{2, 4, 3}, pattern(24), true);
  write_idx(dir.path / "t10k-labels-idx1-ubyte", std::vector<uint64_t>{2}, std::vector<uint8_t>{1, 0});
  const auto d = load_idx_dataset(dir.path);
  CHECK(d.train.count() == 5);
  CHECK(d.train.features() == 12);
  CHECK(d.train.rows == 4);
  CHECK(d.train.cols == 3);
  CHECK(d.train.images == images);
  CHECK(d.train.classes == 4);
  CHECK(d.test.count() == 2);
  CHECK_THROWS_WITH(load_idx_dataset(dir.path, 3), Catch::Contains("label 3 of sample 1 is not below 3 classes"));

  write_idx(dir.path / "t10k-labels-idx1-ubyte", std::vector<uint64_t>{3}, std::vector<uint8_t>{1, 0, 1});
  CHECK_THROWS_WITH(load_idx_dataset(dir.path), Catch::Contains("2 images but 3 labels"));
  write_idx(dir.path / "t10k-labels-idx1-ubyte", std::vector<uint64_t>{2, 1}, std::vector<uint8_t>{1, 0});
  CHECK_THROWS_WITH(load_idx_dataset(dir.path), Catch::Contains("expected labels of 1 dimension"));
  fs::remove(dir.path / "t10k-labels-idx1-ubyte");
  CHECK_THROWS_WITH(load_idx_dataset(dir.path),
                    Catch::Contains("t10k-labels-idx1-ubyte (or t10k-labels-idx1-ubyte.gz) not found"));
  CHECK_THROWS_WITH(write_idx(dir.path / "x", std::vector<uint64_t>{2, 2}, pattern(3)),
                    Catch::Contains("hold 4 bytes, got 3"));
}

}  // namespace vkgrad::test
