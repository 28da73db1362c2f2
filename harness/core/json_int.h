#pragma once

#include <cstdint>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

namespace polyarch {

// The value of `v` as an Int when it is a JSON integer (signed or unsigned) that Int can hold;
// nullopt for floats, strings, other types and out-of-range integers. Documents polyarch did
// not write itself (runtime state, Engine API answers, reports given to compare) are read
// through this: nlohmann's get<Int>() of an out-of-range float is undefined behaviour, and of
// a wider integer silently wraps.
template <typename Int>
std::optional<Int> JsonInteger(const nlohmann::json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (!std::in_range<Int>(u)) return std::nullopt;
    return static_cast<Int>(u);
  }
  if (v.is_number_integer()) {
    const auto s = v.get<std::int64_t>();
    if (!std::in_range<Int>(s)) return std::nullopt;
    return static_cast<Int>(s);
  }
  return std::nullopt;
}

}  // namespace polyarch
