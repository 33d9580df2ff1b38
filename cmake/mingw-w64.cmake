# Cross-compiles vkgrad for 64-bit Windows with MinGW-w64 on Debian (g++-mingw-w64-x86-64-posix,
# libz-mingw-w64-dev): cmake -S . -B build-mingw -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake
# (scripts/windows.sh builds and runs the result under wine).
#
# - The posix-threads flavour of the compilers, so that std::thread and std::mutex are there.
# - Executables are linked statically (libstdc++, libgcc, winpthreads, zlib): an .exe runs without
#   any MinGW DLL next to it. The Vulkan loader (vulkan-1.dll) is opened at run time, never linked.
# - Header-only dependencies the MinGW sysroot lacks (Vulkan-Hpp and the Vulkan headers,
#   nlohmann-json, CLI11, Catch2) come from the host's /usr/include through -idirafter: searched after
#   MinGW's own headers, so the C and C++ runtime headers are always MinGW's. CMake then counts
#   /usr/include among the compiler's implicit directories and never passes it as -I or -isystem,
#   which would put glibc's headers first.
# - Libraries come from the MinGW sysroot only; the host's CMake package files of the header-only
#   dependencies are used as they are.
# - Programs (glslangValidator, spirv-val) are the host's: they are build tools that run here.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(VKGRAD_MINGW_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${VKGRAD_MINGW_TRIPLE}-gcc-posix)
set(CMAKE_CXX_COMPILER ${VKGRAD_MINGW_TRIPLE}-g++-posix)
set(CMAKE_RC_COMPILER ${VKGRAD_MINGW_TRIPLE}-windres)

set(CMAKE_C_FLAGS_INIT "-idirafter /usr/include")
set(CMAKE_CXX_FLAGS_INIT "-idirafter /usr/include")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

set(CMAKE_FIND_ROOT_PATH /usr/${VKGRAD_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# zlib's static archive (libz.a), not the import library of zlib1.dll.
set(ZLIB_USE_STATIC_LIBS ON)
# The Vulkan headers are the host's (above). vkgrad opens the loader at run time and links no Vulkan
# library; only programs that call Vulkan themselves (the README's interop example) link it. GNU ld
# links against a DLL directly, so where no import library is given (the LunarG SDK's, through
# VULKAN_SDK, or -DVulkan_LIBRARY=...) wine's vulkan-1.dll serves as one.
if(NOT Vulkan_LIBRARY AND NOT DEFINED ENV{VULKAN_SDK})
  find_file(Vulkan_LIBRARY vulkan-1.dll PATHS /usr/lib/x86_64-linux-gnu/wine/x86_64-windows NO_DEFAULT_PATH
            NO_CMAKE_FIND_ROOT_PATH)
endif()
