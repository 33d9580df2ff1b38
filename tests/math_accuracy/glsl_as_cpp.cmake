# Turns a GLSL include of scalar float math (shaders/math.glsl) into C++: every float literal gets an
# f suffix (GLSL literals are float, C++ ones double, which would change the arithmetic) and
# `precise` is removed (the C++ build runs with -ffp-contract=off, which is what it asks for).
# Usage: cmake -DIN=math.glsl -DOUT=math_glsl.hpp -P glsl_as_cpp.cmake
file(READ ${IN} text)
string(REGEX REPLACE "([0-9]+\\.[0-9]*([eE][-+]?[0-9]+)?)" "\\1f" text "${text}")
string(REGEX REPLACE "precise " "" text "${text}")
file(WRITE ${OUT} "// Generated from ${IN} by glsl_as_cpp.cmake; do not edit.\n${text}")
