#include "vkgrad/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "platform.hpp"
#include "vkgrad/error.hpp"

namespace vkgrad {

namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw InvalidArgument("vkgrad: IDX file " + path.string() + ": " + what);
}

// zlib's gz* functions read gzip streams and, transparently, plain files: one reader for both.
struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

// Reads exactly `size` bytes; returns the count actually read (short at end of file). A corrupt
// stream throws.
uint64_t read_some(gzFile f, const std::filesystem::path& path, uint8_t* out, uint64_t size) {
  uint64_t done = 0;
  while (done < size) {
    const unsigned chunk = static_cast<unsigned>(std::min<uint64_t>(size - done, 1u << 30));
    const int n = gzread(f, out + done, chunk);
    if (n < 0) {
      int code = 0;
      const char* msg = gzerror(f, &code);
      fail(path, std::string("corrupt gzip data (") + (msg ? msg : "unknown error") + ")");
    }
    if (n == 0) {
      // End of input: zlib reports a gzip stream cut short (even inside its CRC / size trailer)
      // only through gzerror.
      int code = Z_OK;
      const char* msg = gzerror(f, &code);
      if (code != Z_OK)
        fail(path, std::string("truncated or corrupt gzip data (") + (msg ? msg : "unknown error") + ")");
      break;
    }
    done += static_cast<uint64_t>(n);
  }
  return done;
}

}  // namespace

IdxArray read_idx(const std::filesystem::path& path, const IdxLimits& limits) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail(path, "not found (or not a regular file)");
  GzFile f(detail::platform::open_gzip(path, "rb"));
  if (!f) fail(path, std::string("cannot open it: ") + std::strerror(errno));
  uint8_t magic[4];
  if (read_some(f.get(), path, magic, 4) != 4) fail(path, "shorter than the 4-byte IDX magic (truncated?)");
  if (magic[0] != 0 || magic[1] != 0) {
    fail(path, "bad magic: not an IDX file (expected 00 00 08 0N, as MNIST's train-images-idx3-ubyte)");
  }
  if (magic[2] != 0x08) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", magic[2]);
    fail(path, std::string("element type ") + buf + " is not supported: vkgrad reads unsigned-byte IDX (0x08)");
  }
  const unsigned ndims = magic[3];
  if (ndims < 1 || ndims > 4) fail(path, std::to_string(ndims) + " dimensions: expected 1 to 4");
  uint8_t raw_dims[16];
  if (read_some(f.get(), path, raw_dims, 4 * ndims) != 4 * ndims) fail(path, "truncated header");
  IdxArray a;
  uint64_t total = 1;
  for (unsigned i = 0; i < ndims; ++i) {
    const uint64_t d = (uint64_t(raw_dims[4 * i]) << 24) | (uint64_t(raw_dims[4 * i + 1]) << 16) |
                       (uint64_t(raw_dims[4 * i + 2]) << 8) | uint64_t(raw_dims[4 * i + 3]);
    if (d == 0) fail(path, "dimension " + std::to_string(i) + " is 0");
    a.dims.push_back(d);
    total *= d;  // each d < 2^32 and at most 4 of them: check against the limit as we go
    if (total > limits.max_bytes) {
      fail(path, "the header describes more than " + std::to_string(limits.max_bytes) +
                     " bytes of data (corrupt header, or raise IdxLimits::max_bytes)");
    }
  }
  a.data.resize(total);
  const uint64_t got = read_some(f.get(), path, a.data.data(), total);
  if (got != total) {
    fail(path, "truncated: the header promises " + std::to_string(total) + " bytes of data, the file holds " +
                   std::to_string(got));
  }
  uint8_t extra;
  if (read_some(f.get(), path, &extra, 1) != 0) fail(path, "trailing bytes after the data the header describes");
  return a;
}

void write_idx(const std::filesystem::path& path, std::span<const uint64_t> dims, std::span<const uint8_t> data,
               bool gzip) {
  if (dims.empty() || dims.size() > 4)
    throw InvalidArgument("vkgrad: write_idx: 1 to 4 dimensions, got " + std::to_string(dims.size()));
  uint64_t total = 1;
  for (uint64_t d : dims) {
    if (d == 0 || d > 0xffffffffu) throw InvalidArgument("vkgrad: write_idx: dimensions must be in [1, 2^32)");
    total *= d;
  }
  if (total != data.size()) {
    throw InvalidArgument("vkgrad: write_idx: the dimensions hold " + std::to_string(total) + " bytes, got " +
                          std::to_string(data.size()));
  }
  std::vector<uint8_t> header{0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint64_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) header.push_back(static_cast<uint8_t>(d >> s));
  }
  GzFile f(detail::platform::open_gzip(path, gzip ? "wb9" : "wbT"));  // "T": plain (transparent) writing
  if (!f) throw Error("vkgrad: write_idx: cannot create " + path.string() + ": " + std::strerror(errno));
  auto write = [&](const uint8_t* p, uint64_t n) {
    while (n > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<uint64_t>(n, 1u << 30));
      if (gzwrite(f.get(), p, chunk) != static_cast<int>(chunk))
        throw Error("vkgrad: write_idx: writing " + path.string() + " failed");
      p += chunk;
      n -= chunk;
    }
  };
  write(header.data(), header.size());
  write(data.data(), data.size());
  if (gzclose(f.release()) != Z_OK) throw Error("vkgrad: write_idx: closing " + path.string() + " failed");
}

LabeledImages load_idx_pair(const std::filesystem::path& images, const std::filesystem::path& labels,
                            uint32_t max_classes, const IdxLimits& limits) {
  IdxArray im = read_idx(images, limits);
  IdxArray lb = read_idx(labels, limits);
  if (im.dims.size() != 3) {
    fail(images, "expected images of 3 dimensions (count, rows, cols), got " + std::to_string(im.dims.size()));
  }
  if (lb.dims.size() != 1)
    fail(labels, "expected labels of 1 dimension (count), got " + std::to_string(lb.dims.size()));
  if (im.dims[0] != lb.dims[0]) {
    throw InvalidArgument("vkgrad: IDX files " + images.string() + " and " + labels.string() +
                          " do not belong together: " + std::to_string(im.dims[0]) + " images but " +
                          std::to_string(lb.dims[0]) + " labels");
  }
  LabeledImages s;
  s.rows = im.dims[1];
  s.cols = im.dims[2];
  s.images = std::move(im.data);
  s.labels = std::move(lb.data);
  for (std::size_t i = 0; i < s.labels.size(); ++i) {
    if (s.labels[i] >= max_classes) {
      fail(labels, "label " + std::to_string(s.labels[i]) + " of sample " + std::to_string(i) + " is not below " +
                       std::to_string(max_classes) + " classes");
    }
    s.classes = std::max<uint32_t>(s.classes, s.labels[i] + 1u);
  }
  return s;
}

IdxDataset load_idx_dataset(const std::filesystem::path& dir, uint32_t max_classes) {
  auto find = [&](const std::string& name) {
    for (const std::string& candidate : {name, name + ".gz"}) {
      std::error_code ec;
      if (std::filesystem::is_regular_file(dir / candidate, ec)) return dir / candidate;
    }
    throw InvalidArgument("vkgrad: IDX dataset in " + dir.string() + ": " + name + " (or " + name +
                          ".gz) not found; expected train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                          "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (raw or .gz)");
  };
  IdxDataset d;
  d.train = load_idx_pair(find("train-images-idx3-ubyte"), find("train-labels-idx1-ubyte"), max_classes);
  d.test = load_idx_pair(find("t10k-images-idx3-ubyte"), find("t10k-labels-idx1-ubyte"), max_classes);
  if (d.train.rows != d.test.rows || d.train.cols != d.test.cols) {
    throw InvalidArgument("vkgrad: IDX dataset in " + dir.string() + ": training images are " +
                          std::to_string(d.train.rows) + "x" + std::to_string(d.train.cols) + " but test images " +
                          std::to_string(d.test.rows) + "x" + std::to_string(d.test.cols));
  }
  return d;
}

}  // namespace vkgrad
