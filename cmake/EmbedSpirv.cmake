# cmake -DSPV=in.spv -DOUT=out.cpp -DNAME=name -P EmbedSpirv.cmake
file(READ ${SPV} hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR size "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT}.tmp
"// Generated from ${NAME}.spv by cmake/EmbedSpirv.cmake. Do not edit.
#include <cstddef>
namespace vkgrad::detail {
alignas(4) extern const unsigned char spv_${NAME}[] = {
${bytes}};
extern const std::size_t spv_${NAME}_size = ${size};
}  // namespace vkgrad::detail
")
file(RENAME ${OUT}.tmp ${OUT})
