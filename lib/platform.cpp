#include "platform.hpp"

#include <algorithm>
#include <array>
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
#include <dlfcn.h>
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

bool set_environment(const char* name, const char* value) { return _putenv_s(name, value ? value : "") == 0; }

std::span<const char* const> vulkan_loader_names() {
  static constexpr std::array<const char*, 1> names{"vulkan-1.dll"};
  return names;
}

namespace {

// The library's handle, or null with `reason` set.
void* open_library(const char* name, std::string& reason) {
  HMODULE library = LoadLibraryA(name);
  if (library == nullptr) reason = os_message(static_cast<int>(GetLastError()));
  return library;
}

LibraryFunction library_function(void* library, const char* name) {
  return reinterpret_cast<LibraryFunction>(GetProcAddress(static_cast<HMODULE>(library), name));
}

void close_library(void* library) { FreeLibrary(static_cast<HMODULE>(library)); }

}  // namespace

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

bool set_environment(const char* name, const char* value) {
  return (value ? ::setenv(name, value, 1) : ::unsetenv(name)) == 0;
}

namespace {

// The library's handle, or null with `reason` set (dlerror's text, which starts with the name).
void* open_library(const char* name, std::string& reason) {
  void* library = ::dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* text = ::dlerror();
    reason = text ? text : "dlopen failed";
    // dlerror names the file first ("libvulkan.so.1: cannot open ..."); the caller names it too.
    const std::string prefix = std::string(name) + ": ";
    if (reason.rfind(prefix, 0) == 0) reason.erase(0, prefix.size());
  }
  return library;
}

LibraryFunction library_function(void* library, const char* name) {
  return reinterpret_cast<LibraryFunction>(::dlsym(library, name));
}

void close_library(void* library) { ::dlclose(library); }

}  // namespace

#if defined(__APPLE__)
std::span<const char* const> vulkan_loader_names() {
  static constexpr std::array<const char*, 3> names{"libvulkan.dylib", "libvulkan.1.dylib", "libMoltenVK.dylib"};
  return names;
}
const char* vulkan_loader_install_hint() {
  return "Install the Vulkan loader and MoltenVK (the LunarG Vulkan SDK, or Homebrew: brew install vulkan-loader "
         "molten-vk)";
}
#else
std::span<const char* const> vulkan_loader_names() {
  static constexpr std::array<const char*, 2> names{"libvulkan.so.1", "libvulkan.so"};
  return names;
}
const char* vulkan_loader_install_hint() {
  return "Install it (Debian/Ubuntu: apt-get install libvulkan1 mesa-vulkan-drivers)";
}
#endif

#endif

LibraryFunction open_vulkan_loader(std::span<const char* const> names, std::string& error) {
  error.clear();
  for (const char* name : names) {
    std::string reason;
    void* library = open_library(name, reason);
    if (library != nullptr) {
      if (LibraryFunction f = library_function(library, "vkGetInstanceProcAddr")) {
        error.clear();
        return f;
      }
      reason = "it does not export vkGetInstanceProcAddr";
      close_library(library);
    }
    error += (error.empty() ? "" : "; ") + std::string(name) + ": " + reason;
  }
  if (names.empty()) error = "no file name to try";
  return nullptr;
}

}  // namespace vkgrad::detail::platform
