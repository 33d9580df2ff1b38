# Doxygen input filter for include/vkgrad/activation.hpp (docs/Doxyfile, FILTER_PATTERNS).
# enum Activation is built by including the X-macro table activations.def, and doxygen does not
# paste included files, so the reference would list no activations. This writes the enumerators
# `name = id,` of the table's rows in place of the #include, on that one line, and blanks the
# helper macro's #define / #undef, so every line keeps its number in doxygen's warnings.
/^#define VKGRAD_ACTIVATION\(/ || /^#undef VKGRAD_ACTIVATION/ { print ""; next }
/^#include "vkgrad\/activations.def"/ {
  def = FILENAME
  sub(/[^\/]*$/, "", def)
  def = def "activations.def"
  out = ""
  while ((getline line < def) > 0) {
    if (line !~ /^VKGRAD_ACTIVATION\(/) continue
    sub(/^VKGRAD_ACTIVATION\(/, "", line)
    split(line, field, ",")
    gsub(/[ \t]/, "", field[1])
    gsub(/[ \t]/, "", field[2])
    out = out field[1] " = " field[2] ", "
  }
  close(def)
  print out
  next
}
{ print }
