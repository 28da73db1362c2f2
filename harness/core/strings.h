// Small string helpers shared across the tree.
#ifndef POLYARCH_HARNESS_CORE_STRINGS_H_
#define POLYARCH_HARNESS_CORE_STRINGS_H_

#include <string>
#include <string_view>
#include <vector>

namespace polyarch {

// `s` without the ASCII white space (space, \t, \n, \r, \f, \v) at either end.
std::string_view Trim(std::string_view s);

// The non-empty pieces of `s` between occurrences of `sep`.
std::vector<std::string> Split(std::string_view s, char sep);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CORE_STRINGS_H_
