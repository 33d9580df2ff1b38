// Everything vkgrad needs from the operating system, behind one interface: the process id (unique
// temporary file names), durable atomic file replacement, opening a gzip file by path, the per-user
// cache directory and the Vulkan loader's name. platform.cpp implements it for Windows, macOS and Linux / other POSIX
// systems, chosen by the preprocessor; no other file of the library calls the OS directly.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

struct gzFile_s;  // zlib's gzFile

namespace vkgrad::detail::platform {

/// The calling process's id (getpid / GetCurrentProcessId), for temporary file names that
/// concurrent processes never share.
uint64_t process_id();

/// The step of `replace_file_durably` that failed.
enum class FileStep { create, write, close, replace };

/// A failed `replace_file_durably`: the step and the OS's description of the error.
struct FileError {
  FileStep step;
  std::string message;
};

/// Writes `parts`, in order, to `path` so that a crash or a full disk leaves either the previous
/// file or the complete new one: the bytes go to `temporary` (created or truncated; it must be in
/// the same directory as `path`), are flushed to storage (fsync / FlushFileBuffers), and the file is
/// renamed over `path` (rename, then an fsync of the directory so the rename itself is durable /
/// MoveFileExW with MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH). On failure the step and the
/// OS's message are returned and `temporary` may remain: the caller removes it.
std::optional<FileError> replace_file_durably(const std::filesystem::path& temporary, const std::filesystem::path& path,
                                              const std::vector<std::span<const uint8_t>>& parts);

/// zlib's gzopen for `path` (gzopen_w on Windows, so that any file name opens); null on failure, with
/// errno set as gzopen sets it.
gzFile_s* open_gzip(const std::filesystem::path& path, const char* mode);

/// The per-user cache directory of `application`: %LOCALAPPDATA%\<application> on Windows,
/// ~/Library/Caches/<application> on macOS, $XDG_CACHE_HOME/<application> else
/// ~/.cache/<application> elsewhere; empty when the environment names none.
std::filesystem::path user_cache_directory(const std::string& application);

/// The file name of the Vulkan loader that vk::raii::Context opens on this platform (vulkan-1.dll,
/// libvulkan.dylib or libvulkan.so.1), and how to install it, for the message when it is missing.
const char* vulkan_loader_name();
const char* vulkan_loader_install_hint();

}  // namespace vkgrad::detail::platform
