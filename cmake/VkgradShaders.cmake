# Compiles GLSL compute shaders to SPIR-V at build time (glslangValidator), validates them
# (spirv-val), checks their shared memory (cmake/spirv_shared_check.cpp) and embeds them into a
# target, plus a registry (name -> bytes) the library looks shaders up in. The library never reads
# shader files at run time.
find_program(VKGRAD_GLSLANG glslangValidator REQUIRED
  DOC "glslangValidator (Debian: glslang-tools)")
find_program(VKGRAD_SPIRV_VAL spirv-val REQUIRED
  DOC "spirv-val (Debian: spirv-tools)")

set(VKGRAD_SPIRV_TARGET_ENV vulkan1.1 CACHE STRING "SPIR-V target environment for the shaders")
set(_vkgrad_shader_cmake_dir ${CMAKE_CURRENT_LIST_DIR})

# VKGRAD_SPIRV_FROM: another build tree of the same source tree whose modules this build embeds
# instead of compiling its own (scripts/test.sh: the clang, sanitizer and MinGW builds take the
# native build's). The modules do not depend on the C++ compiler or the target platform, only on the
# shader sources, glslangValidator and the target environment, so the copies are the modules this
# build would compile. At every build that tree's modules are brought up to date first (its target
# vkgrad_spirv: glslangValidator, spirv-val and the shared-memory check, as always), then copied.
set(VKGRAD_SPIRV_FROM "" CACHE PATH
  "A build tree of this source tree whose SPIR-V modules are embedded instead of compiling them again (empty: compile them)")

# The shared-memory check every module passes after spirv-val (cmake/spirv_shared_check.cpp): no
# shared array sized by a specialization constant (MoltenVK cannot run one), and at most the 16384
# bytes of shared memory every Vulkan device has. A host program built with the project; when
# cross-compiling it could not run here, so the check is left to a native build (the modules are the
# same for every target). Sets out_var to the check's target, or to nothing when cross-compiling.
function(_vkgrad_shared_check_target out_var)
  if(CMAKE_CROSSCOMPILING)
    message(STATUS "Cross-compiling: the SPIR-V shared-array check (cmake/spirv_shared_check.cpp) is left to a native build")
    set(${out_var} "" PARENT_SCOPE)
    return()
  endif()
  if(NOT TARGET vkgrad_spirv_shared_check)
    add_executable(vkgrad_spirv_shared_check ${_vkgrad_shader_cmake_dir}/spirv_shared_check.cpp)
    target_compile_features(vkgrad_spirv_shared_check PRIVATE cxx_std_20)
    # A build tool, not part of what is tested: without the project's sanitizer options.
    set_target_properties(vkgrad_spirv_shared_check PROPERTIES COMPILE_OPTIONS "" LINK_OPTIONS "")
  endif()
  set(${out_var} vkgrad_spirv_shared_check PARENT_SCOPE)
endfunction()

# Checks that VKGRAD_SPIRV_FROM is a configured build tree of this source tree, with its modules
# embedded and the same target environment, and sets out_var to its counterpart of out_dir (the
# directory this build's modules go to).
function(_vkgrad_spirv_from_check out_dir out_var)
  set(from ${VKGRAD_SPIRV_FROM})
  if(NOT EXISTS ${from}/CMakeCache.txt)
    message(FATAL_ERROR "VKGRAD_SPIRV_FROM=${from} is not a configured build tree (no CMakeCache.txt): configure and build this source tree there first, or leave VKGRAD_SPIRV_FROM empty")
  endif()
  load_cache(${from} READ_WITH_PREFIX _from_ vkgrad_SOURCE_DIR VKGRAD_SPIRV_TARGET_ENV VKGRAD_EMBED_SHADERS)
  file(REAL_PATH "${_from_vkgrad_SOURCE_DIR}" from_source)
  file(REAL_PATH "${PROJECT_SOURCE_DIR}" source)
  if(NOT from_source STREQUAL source)
    message(FATAL_ERROR "VKGRAD_SPIRV_FROM=${from} builds ${_from_vkgrad_SOURCE_DIR}, not this source tree (${PROJECT_SOURCE_DIR}): its modules could be other shaders")
  endif()
  if(NOT _from_VKGRAD_SPIRV_TARGET_ENV STREQUAL VKGRAD_SPIRV_TARGET_ENV)
    message(FATAL_ERROR "VKGRAD_SPIRV_FROM=${from} compiles for ${_from_VKGRAD_SPIRV_TARGET_ENV}, this build for ${VKGRAD_SPIRV_TARGET_ENV} (VKGRAD_SPIRV_TARGET_ENV)")
  endif()
  if(DEFINED _from_VKGRAD_EMBED_SHADERS AND NOT _from_VKGRAD_EMBED_SHADERS)
    message(FATAL_ERROR "VKGRAD_SPIRV_FROM=${from} is configured with VKGRAD_EMBED_SHADERS=OFF: it compiles no module")
  endif()
  file(RELATIVE_PATH rel ${PROJECT_BINARY_DIR} ${out_dir})
  set(${out_var} ${from}/${rel} PARENT_SCOPE)
  message(STATUS "SPIR-V modules: taken from ${from}/${rel} (VKGRAD_SPIRV_FROM), not compiled here")
endfunction()

# vkgrad_embed_shaders(<target> SOURCES <file.comp>... INCLUDE_DIRS <dir>...)
function(vkgrad_embed_shaders target)
  cmake_parse_arguments(ARG "" "" "SOURCES;INCLUDE_DIRS" ${ARGN})
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/shaders)
  file(MAKE_DIRECTORY ${out_dir})
  set(include_flags)
  foreach(dir IN LISTS ARG_INCLUDE_DIRS)
    list(APPEND include_flags -I${dir})
  endforeach()
  set(names)
  set(spvs)
  set(builds)
  # Shaders that include reduce_workgroup.glsl are compiled twice: as written (shared-memory
  # reductions, portable) and with -DVKGRAD_SUBGROUP=1 as <name>_subgroup (subgroup arithmetic),
  # so the subgroup capability is only declared by a module that is only used where the device
  # has it. The library picks the build for each dispatch (lib/kernel_select.cpp).
  set(variants)
  foreach(src IN LISTS ARG_SOURCES)
    get_filename_component(name ${src} NAME_WE)
    # Each build: name|source|shader|variant bits (lib/shader_registry.hpp ShaderVariant)|defines...
    list(APPEND variants "${name}|${src}|${name}|0")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${src})
    file(STRINGS ${src} uses_reduce REGEX "^#include \"reduce_workgroup.glsl\"")
    if(uses_reduce)
      list(APPEND variants "${name}_subgroup|${src}|${name}|2|-DVKGRAD_SUBGROUP=1")
    endif()
    # Shaders that include texel_io.glsl are also built with -DVKGRAD_TEXEL=1 as <name>_texel: their
    # f32 inputs read through uniform texel buffers, their outputs written as 64-bit words (what
    # CPU devices run fastest; lib/kernel_select.cpp picks it for the cpu kernel set).
    file(STRINGS ${src} uses_texel REGEX "^#include \"texel_io.glsl\"")
    if(uses_texel)
      list(APPEND variants "${name}_texel|${src}|${name}|1|-DVKGRAD_TEXEL=1")
      # Both: the texel build of the subgroup variant, so a context that uses both keeps both.
      if(uses_reduce)
        list(APPEND variants "${name}_texel_subgroup|${src}|${name}|3|-DVKGRAD_TEXEL=1|-DVKGRAD_SUBGROUP=1")
      endif()
    endif()
    # Shaders marked "// vkgrad-variant: f16" are also built with -DVKGRAD_F16_INPUTS=1 as <name>_f16:
    # their inputs in binary16, two per 32-bit word (gemm's f16 path on storage buffers; the texel
    # build reads f16 through the tensor's R16G16B16A16_SFLOAT view and needs no variant).
    file(STRINGS ${src} has_f16 REGEX "^// vkgrad-variant: f16")
    if(has_f16)
      list(APPEND variants "${name}_f16|${src}|${name}|4|-DVKGRAD_F16_INPUTS=1")
    endif()
  endforeach()
  # VKGRAD_EMBED_SHADERS=OFF (lib/CMakeLists.txt): no module is compiled and the registry is empty.
  if(NOT VKGRAD_EMBED_SHADERS)
    set(variants)
  endif()
  set(import_dir)
  if(variants AND VKGRAD_SPIRV_FROM)
    _vkgrad_spirv_from_check(${out_dir} import_dir)
  endif()
  set(shared_check)
  if(variants AND NOT import_dir)
    _vkgrad_shared_check_target(shared_check)
  endif()
  foreach(variant IN LISTS variants)
    string(REPLACE "|" ";" parts "${variant}")
    list(GET parts 0 name)
    list(GET parts 1 src)
    list(GET parts 2 shader)
    list(GET parts 3 bits)
    list(LENGTH parts nparts)
    set(defines)
    if(nparts GREATER 4)
      list(SUBLIST parts 4 -1 defines)
    endif()
    set(spv ${out_dir}/${name}.spv)
    list(APPEND names ${name})
    list(APPEND builds "${name}:${shader}:${bits}")
    list(APPEND spvs ${spv})
    if(import_dir)
      continue()
    endif()
    set(check_command)
    if(shared_check)
      set(check_command COMMAND ${shared_check} ${spv})
    endif()
    add_custom_command(
      OUTPUT ${spv}
      COMMAND ${VKGRAD_GLSLANG} -V --quiet --target-env ${VKGRAD_SPIRV_TARGET_ENV} ${include_flags} ${defines}
              --depfile ${spv}.d -o ${spv} ${src}
      COMMAND ${VKGRAD_SPIRV_VAL} --target-env ${VKGRAD_SPIRV_TARGET_ENV} ${spv}
      ${check_command}
      MAIN_DEPENDENCY ${src}
      DEPENDS ${shared_check}
      DEPFILE ${spv}.d
      COMMENT "GLSL -> SPIR-V ${name}"
      VERBATIM)
  endforeach()
  if(import_dir)
    # The other tree's modules, brought up to date there, then copied (only those that differ, so
    # that an unchanged module rebuilds nothing here). The list of modules is this build's own, from
    # the same sources: a module the other tree lacks fails the copy.
    list(TRANSFORM names PREPEND ${import_dir}/ OUTPUT_VARIABLE import_spvs)
    list(TRANSFORM import_spvs APPEND .spv)
    # The other tree is built on its own (not as part of this build's make job server).
    add_custom_target(vkgrad_spirv_import
      COMMAND ${CMAKE_COMMAND} -E env --unset=MAKEFLAGS --unset=MFLAGS --unset=MAKELEVEL
              ${CMAKE_COMMAND} --build ${VKGRAD_SPIRV_FROM} --target vkgrad_spirv
      COMMAND ${CMAKE_COMMAND} -E copy_if_different ${import_spvs} ${out_dir}
      BYPRODUCTS ${spvs}
      COMMENT "SPIR-V modules from ${VKGRAD_SPIRV_FROM} (VKGRAD_SPIRV_FROM)"
      VERBATIM)
    add_dependencies(${target} vkgrad_spirv_import)
  elseif(spvs)
    # Every module, without the library: what a build with VKGRAD_SPIRV_FROM naming this tree builds.
    add_custom_target(vkgrad_spirv DEPENDS ${spvs})
  endif()

  # How the modules get into the library (cmake/EmbedSpirv.cmake writes one source file for all of
  # them): "incbin" has the assembler copy each .spv file into the object (.incbin in a top-level asm
  # statement; GCC and Clang with their GNU-style driver, for ELF, Mach-O and COFF targets), so no
  # compiler parses the bytes; "array" writes them out as C++ byte arrays, which any compiler builds
  # (MSVC, clang-cl).
  if(CMAKE_CXX_COMPILER_ID MATCHES "^(GNU|Clang|AppleClang)$"
     AND NOT CMAKE_CXX_COMPILER_FRONTEND_VARIANT STREQUAL "MSVC")
    set(embed_default incbin)
  else()
    set(embed_default array)
  endif()
  set(VKGRAD_SPIRV_EMBED ${embed_default} CACHE STRING
    "How the SPIR-V modules are embedded: incbin (assembler .incbin; GCC, Clang) or array (C++ arrays; any compiler)")
  set_property(CACHE VKGRAD_SPIRV_EMBED PROPERTY STRINGS incbin array)
  if(NOT VKGRAD_SPIRV_EMBED MATCHES "^(incbin|array)$")
    message(FATAL_ERROR "VKGRAD_SPIRV_EMBED must be incbin or array, not '${VKGRAD_SPIRV_EMBED}'")
  endif()

  # Every module and the registry (lib/shader_registry.hpp) go into one generated source, written at
  # build time by one cmake -P run once the modules exist. What it embeds is listed in a file
  # rewritten only when the list changes, so that an unchanged configuration rebuilds nothing.
  set(modules_file ${out_dir}/spirv_modules.cmake)
  set(modules_content "# Generated by cmake/VkgradShaders.cmake: what cmake/EmbedSpirv.cmake embeds.
set(VKGRAD_SPIRV_EMBED ${VKGRAD_SPIRV_EMBED})
set(VKGRAD_SPIRV_DIR [==[${out_dir}]==])
set(VKGRAD_SPIRV_MODULES [==[${builds}]==])
")
  set(old_content "")
  if(EXISTS ${modules_file})
    file(READ ${modules_file} old_content)
  endif()
  if(NOT old_content STREQUAL modules_content)
    file(WRITE ${modules_file} "${modules_content}")
  endif()
  list(LENGTH names count)
  set(embedded ${out_dir}/spirv_modules.cpp)
  add_custom_command(
    OUTPUT ${embedded}
    COMMAND ${CMAKE_COMMAND} -DMODULES=${modules_file} -DOUT=${embedded}
            -P ${_vkgrad_shader_cmake_dir}/EmbedSpirv.cmake
    DEPENDS ${spvs} ${modules_file} ${_vkgrad_shader_cmake_dir}/EmbedSpirv.cmake
    COMMENT "Embedding ${count} SPIR-V modules (${VKGRAD_SPIRV_EMBED})"
    VERBATIM)
  target_sources(${target} PRIVATE ${embedded})
  # It needs nothing from the target's precompiled header. With incbin, the top-level asm defines
  # local symbols that the registry's table refers to, so both must stay in one object: no unity
  # batch, and no LTO (which may emit them in different partitions).
  set_source_files_properties(${embedded} PROPERTIES SKIP_PRECOMPILE_HEADERS ON SKIP_UNITY_BUILD_INCLUSION ON)
  if(VKGRAD_SPIRV_EMBED STREQUAL "incbin")
    set_property(SOURCE ${embedded} APPEND PROPERTY COMPILE_OPTIONS -fno-lto)
  endif()
endfunction()
