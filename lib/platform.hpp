// Everything vkgrad needs from the operating system, behind one interface: the process id (unique
// temporary file names), durable atomic file replacement, opening a gzip file by path, the per-user
// cache directory and opening the Vulkan loader. platform.cpp implements it for Windows, macOS and
// Linux / other POSIX systems, chosen by the preprocessor; no other file of the library calls the OS
// directly.
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

/// Sets the environment variable `name` to `value` for this process, or removes it when `value` is
/// null (setenv / unsetenv; _putenv_s); false when the OS refuses. On Windows an empty value removes
/// the variable too.
bool set_environment(const char* name, const char* value);

/// A function of a shared library as the OS returns it (dlsym / GetProcAddress); the caller casts it
/// to the function's real type.
using LibraryFunction = void (*)();

/// The Vulkan loader's file names on this platform, in the order open_vulkan_loader tries them:
/// vulkan-1.dll on Windows; libvulkan.dylib, libvulkan.1.dylib (the names Homebrew's vulkan-loader and
/// the LunarG SDK install) and libMoltenVK.dylib (MoltenVK alone, which exports the loader's entry
/// points) on macOS; libvulkan.so.1 and libvulkan.so elsewhere.
std::span<const char* const> vulkan_loader_names();

/// Opens the first of `names` that loads and exports vkGetInstanceProcAddr, and returns that
/// function. The library stays loaded for the rest of the process (the functions vkgrad's contexts
/// hold point into it; the OS counts each open, so opening it again is cheap). When none loads,
/// returns null and sets `error` to each name tried with the OS's reason (else clears it).
LibraryFunction open_vulkan_loader(std::span<const char* const> names, std::string& error);

/// How to install the Vulkan loader on this platform, for the message when none opens.
const char* vulkan_loader_install_hint();

}  // namespace vkgrad::detail::platform
