// Checked reads of JSON that polyarch did not write: what the stack under test answers (the
// probe's records, runtime state, Engine API and containerd answers) and the files users hand
// it. nlohmann's value() and get<T>() throw on a field of another type; these never throw and
// say which field held what instead, so a wrong answer becomes a failed case with a reason.
#ifndef POLYARCH_HARNESS_CORE_JSON_READ_H_
#define POLYARCH_HARNESS_CORE_JSON_READ_H_

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "harness/core/json_int.h"
#include "harness/core/status.h"

namespace polyarch {

// What a value is, for a reason: "a number (5)", "a string (\"big\")", "an array (2 items)",
// "an object", "null", "true". Long values are cut.
std::string DescribeJson(const nlohmann::json& v);

// Field `key` of `object`: a Status "field 'machine' is a number (5), expected a string" (or
// "... is missing", or "... is not an object but ...") unless it is there with that type.
Result<std::string> StringField(const nlohmann::json& object, std::string_view key);
Result<bool> BoolField(const nlohmann::json& object, std::string_view key);
Result<double> NumberField(const nlohmann::json& object, std::string_view key);
Result<const nlohmann::json*> ObjectField(const nlohmann::json& object, std::string_view key);
Result<const nlohmann::json*> ArrayField(const nlohmann::json& object, std::string_view key);

// An integer field Int can hold (floats and out-of-range integers are refused).
Status FieldError(const nlohmann::json& object, std::string_view key, std::string_view expected);
template <typename Int>
Result<Int> IntegerField(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return FieldError(object, key, "an integer");
  auto it = object.find(key);
  if (it != object.end()) {
    if (auto v = JsonInteger<Int>(*it)) return *v;
  }
  return FieldError(object, key, "an integer");
}

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CORE_JSON_READ_H_
