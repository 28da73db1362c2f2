// Small string helpers shared across the tree.
#ifndef POLYARCH_HARNESS_CORE_STRINGS_H_
#define POLYARCH_HARNESS_CORE_STRINGS_H_

#include <string_view>

namespace polyarch {

// `s` without the ASCII white space (space, \t, \n, \r, \f, \v) at either end.
std::string_view Trim(std::string_view s);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CORE_STRINGS_H_
