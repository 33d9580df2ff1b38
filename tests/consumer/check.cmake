# Builds and runs tests/consumer against vkgrad, as a user would:
#   MODE=install:  cmake --install the build tree into a temporary prefix, find_package(vkgrad) from
#                  there, and also compile the program with the installed pkg-config file's flags;
#   MODE=subdirectory: add_subdirectory(<vkgrad source>) from the consumer project.
# cmake -DMODE=... -DVKGRAD_BUILD_DIR=... -DVKGRAD_SOURCE_DIR=... -DWORK_DIR=... -DCXX=... -P check.cmake
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()

set(consumer ${CMAKE_CURRENT_LIST_DIR})
file(REMOVE_RECURSE ${WORK_DIR})
if(MODE STREQUAL "install")
  run(${CMAKE_COMMAND} --install ${VKGRAD_BUILD_DIR} --prefix ${WORK_DIR}/prefix)
  run(${CMAKE_COMMAND} -S ${consumer} -B ${WORK_DIR}/build -DCMAKE_BUILD_TYPE=Release
      -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
  run(${WORK_DIR}/build/consumer)
  # pkg-config: the flags it gives must build the same program.
  find_program(PKG_CONFIG pkg-config REQUIRED)
  file(GLOB pc_dirs ${WORK_DIR}/prefix/lib*/pkgconfig ${WORK_DIR}/prefix/lib/*/pkgconfig)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pc_dirs}
                          ${PKG_CONFIG} --cflags --libs --static vkgrad
                  OUTPUT_VARIABLE flags RESULT_VARIABLE result OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "pkg-config does not find vkgrad in ${pc_dirs}")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run(${CXX} -O1 ${consumer}/main.cpp ${flags} -o ${WORK_DIR}/consumer_pkgconfig)
  run(${WORK_DIR}/consumer_pkgconfig)
elseif(MODE STREQUAL "subdirectory")
  # What this mode checks is the project's wiring (targets, include directories, the embedded
  # shaders, the program running), not the code the compiler makes: the whole library is built
  # again here, at -O0, which builds it in about a fifth less time than the Release flags.
  run(${CMAKE_COMMAND} -S ${consumer} -B ${WORK_DIR}/build -DCMAKE_BUILD_TYPE=Release
      -DCMAKE_CXX_FLAGS_RELEASE=-O0 -DVKGRAD_SOURCE_DIR=${VKGRAD_SOURCE_DIR})
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/build --parallel 2)
  run(${WORK_DIR}/build/consumer)
else()
  message(FATAL_ERROR "MODE must be install or subdirectory")
endif()
