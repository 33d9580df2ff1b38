# The build's shared-array check (cmake/spirv_shared_check.cpp) as a test: it accepts a module with
# literal shared arrays, rejects one whose shared arrays are sized by specialization constants (each
# named, with the constant) and one with more shared memory than every Vulkan device has, and
# accepts every module of the library.
# cmake -DCHECK=<tool> -DGLSLANG=<glslangValidator> -DTARGET_ENV=<env> -DSOURCES=<this directory>
#       -DMODULES=<the library's .spv directory> -DWORK_DIR=<scratch> -P check.cmake
file(MAKE_DIRECTORY ${WORK_DIR})

# Compiles <name>.comp and runs the check on it; sets <name>_result and <name>_output.
function(check_shader name)
  execute_process(COMMAND ${GLSLANG} -V --quiet --target-env ${TARGET_ENV} -o ${WORK_DIR}/${name}.spv
                          ${SOURCES}/${name}.comp
                  RESULT_VARIABLE compiled OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT compiled EQUAL 0)
    message(FATAL_ERROR "glslangValidator failed on ${name}.comp:\n${out}")
  endif()
  execute_process(COMMAND ${CHECK} ${WORK_DIR}/${name}.spv RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message(STATUS "${name}.spv: exit ${result}\n${out}")
  set(${name}_result ${result} PARENT_SCOPE)
  set(${name}_output "${out}" PARENT_SCOPE)
endfunction()

set(failures)
check_shader(good_shared)
if(NOT good_shared_result EQUAL 0 OR NOT good_shared_output STREQUAL "")
  list(APPEND failures "good_shared.spv was not accepted silently")
endif()

check_shader(bad_shared)
if(NOT bad_shared_result EQUAL 1)
  list(APPEND failures "bad_shared.spv: exit ${bad_shared_result}, expected 1")
endif()
foreach(expected
    "shared variable 'by_local_size' has an array length that is a specialization constant \\(derived from the workgroup size gl_WorkGroupSize\\)"
    "shared variable 'by_expression' has an array length that is a specialization constant \\(derived from 'TILE', SpecId 1\\)"
    "shared variable 'nested' has an array length that is a specialization constant \\('TILE', SpecId 1\\)"
    "shared variable 'in_struct' has an array length that is a specialization constant \\('TILE', SpecId 1\\)"
    "Size the array with a literal capacity \\(shaders/shared_sizes.h\\)")
  if(NOT bad_shared_output MATCHES "${expected}")
    list(APPEND failures "bad_shared.spv: no finding matches \"${expected}\"")
  endif()
endforeach()

check_shader(large_shared)
if(NOT large_shared_result EQUAL 1 OR NOT large_shared_output MATCHES "take 16400 bytes, more than the 16384 bytes")
  list(APPEND failures "large_shared.spv (16400 bytes of shared memory) was not rejected as too large")
endif()

file(GLOB modules ${MODULES}/*.spv)
list(LENGTH modules count)
if(count EQUAL 0)
  list(APPEND failures "no SPIR-V modules in ${MODULES}")
else()
  execute_process(COMMAND ${CHECK} ${modules} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT result EQUAL 0)
    list(APPEND failures "the library's modules fail the check:\n${out}")
  else()
    message(STATUS "the library's ${count} modules pass")
  endif()
endif()

if(failures)
  list(JOIN failures "\n" text)
  message(FATAL_ERROR "${text}")
endif()
