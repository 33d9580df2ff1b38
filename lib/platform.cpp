#include "platform.hpp"

#include <algorithm>
#include <cstdlib>
#include <system_error>

#include <zlib.h>

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#else
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>
#endif

namespace vkgrad::detail::platform {

namespace {

std::string os_message(int code) { return std::system_category().message(code); }

}  // namespace

#if defined(_WIN32)

uint64_t process_id() { return GetCurrentProcessId(); }

std::optional<FileError> replace_file_durably(const std::filesystem::path& temporary, const std::filesystem::path& path,
                                              const std::vector<std::span<const uint8_t>>& parts) {
  const auto fail = [](FileStep step) { return FileError{step, os_message(static_cast<int>(GetLastError()))}; };
  HANDLE file =
      CreateFileW(temporary.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (file == INVALID_HANDLE_VALUE) return fail(FileStep::create);
  for (auto part : parts) {
    while (!part.empty()) {
      // WriteFile takes a 32-bit count: large tensors go in chunks of at most 1 GiB.
      const DWORD chunk = static_cast<DWORD>(std::min<std::size_t>(part.size(), std::size_t(1) << 30));
      DWORD written = 0;
      if (!WriteFile(file, part.data(), chunk, &written, nullptr)) {
        const FileError error = fail(FileStep::write);
        CloseHandle(file);
        return error;
      }
      part = part.subspan(written);
    }
  }
  if (!FlushFileBuffers(file)) {
    const FileError error = fail(FileStep::write);
    CloseHandle(file);
    return error;
  }
  if (!CloseHandle(file)) return fail(FileStep::close);
  // Write-through: MoveFileExW returns once the rename is on disk.
  if (!MoveFileExW(temporary.c_str(), path.c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
    return fail(FileStep::replace);
  return std::nullopt;
}

gzFile_s* open_gzip(const std::filesystem::path& path, const char* mode) { return gzopen_w(path.c_str(), mode); }

std::filesystem::path user_cache_directory(const std::string& application) {
  // The wide-character variable, so that a user name outside the ANSI code page survives.
  if (const wchar_t* d = _wgetenv(L"LOCALAPPDATA"); d && *d) return std::filesystem::path(d) / application;
  return {};
}

const char* vulkan_loader_name() { return "vulkan-1.dll"; }
const char* vulkan_loader_install_hint() {
  return "Install a GPU driver with Vulkan support or the Vulkan runtime (the LunarG Vulkan SDK installs it)";
}

#else

uint64_t process_id() { return static_cast<uint64_t>(::getpid()); }

namespace {

// The value of an environment variable, empty when unset.
std::string environment(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool write_all(int fd, std::span<const uint8_t> data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

// Flushes the file's data to storage. On macOS fsync only reaches the drive's cache; F_FULLFSYNC
// asks the drive to write it (not every file system supports it, so fsync is the fallback).
bool flush_to_storage(int fd) {
#if defined(__APPLE__)
  if (::fcntl(fd, F_FULLFSYNC) == 0) return true;
#endif
  return ::fsync(fd) == 0;
}

}  // namespace

std::optional<FileError> replace_file_durably(const std::filesystem::path& temporary, const std::filesystem::path& path,
                                              const std::vector<std::span<const uint8_t>>& parts) {
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return FileError{FileStep::create, os_message(errno)};
  bool ok = true;
  for (const auto& part : parts) ok = ok && write_all(fd, part);
  ok = ok && flush_to_storage(fd);
  // errno is read before anything else can change it.
  const int write_errno = errno;
  if (!ok) {
    ::close(fd);
    return FileError{FileStep::write, os_message(write_errno)};
  }
  if (::close(fd) != 0) return FileError{FileStep::close, os_message(errno)};
  if (::rename(temporary.c_str(), path.c_str()) != 0) return FileError{FileStep::replace, os_message(errno)};
  // Make the rename itself durable; a failure here is not an error, the file is complete.
  const std::filesystem::path dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return std::nullopt;
}

gzFile_s* open_gzip(const std::filesystem::path& path, const char* mode) { return gzopen(path.c_str(), mode); }

std::filesystem::path user_cache_directory(const std::string& application) {
  const std::string home = environment("HOME");
#if defined(__APPLE__)
  if (!home.empty()) return std::filesystem::path(home) / "Library" / "Caches" / application;
#else
  if (auto d = environment("XDG_CACHE_HOME"); !d.empty()) return std::filesystem::path(d) / application;
  if (!home.empty()) return std::filesystem::path(home) / ".cache" / application;
#endif
  return {};
}

#if defined(__APPLE__)
const char* vulkan_loader_name() { return "libvulkan.dylib"; }
const char* vulkan_loader_install_hint() {
  return "Install the Vulkan loader and MoltenVK (the LunarG Vulkan SDK, or Homebrew: brew install vulkan-loader "
         "molten-vk)";
}
#else
const char* vulkan_loader_name() { return "libvulkan.so.1"; }
const char* vulkan_loader_install_hint() {
  return "Install it (Debian/Ubuntu: apt-get install libvulkan1 mesa-vulkan-drivers)";
}
#endif

#endif

}  // namespace vkgrad::detail::platform
