#include "harness/core/json_read.h"

namespace polyarch {

using nlohmann::json;

namespace {

std::string Cut(std::string s) {
  constexpr size_t kMax = 80;
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

std::string Dump(const json& v) {
  // replace: bytes that are not UTF-8 must not make the description itself throw.
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string DescribeJson(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case json::value_t::string:
      return "a string (" + Cut(Dump(v)) + ")";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number (" + Cut(Dump(v)) + ")";
    case json::value_t::array:
      return "an array (" + std::to_string(v.size()) + (v.size() == 1 ? " item)" : " items)");
    case json::value_t::object:
      return "an object";
    case json::value_t::binary:
      return "binary data";
    case json::value_t::discarded:
      return "not JSON";
  }
  return "an unknown value";
}

Status FieldError(const json& object, std::string_view key, std::string_view expected) {
  const std::string field = "field '" + std::string(key) + "'";
  if (!object.is_object()) {
    return InvalidArgument("no " + field + ": the document is " + DescribeJson(object) +
                           ", not an object");
  }
  auto it = object.find(key);
  if (it == object.end()) return InvalidArgument(field + " is missing");
  return InvalidArgument(field + " is " + DescribeJson(*it) + ", expected " +
                         std::string(expected));
}

namespace {

// The field when it is there and `is(field)` holds; nullptr otherwise.
template <typename Pred>
const json* Find(const json& object, std::string_view key, Pred is) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it != object.end() && is(*it) ? &*it : nullptr;
}

}  // namespace

Result<std::string> StringField(const json& object, std::string_view key) {
  if (const json* v = Find(object, key, [](const json& j) { return j.is_string(); })) {
    return v->get<std::string>();
  }
  return FieldError(object, key, "a string");
}

Result<bool> BoolField(const json& object, std::string_view key) {
  if (const json* v = Find(object, key, [](const json& j) { return j.is_boolean(); })) {
    return v->get<bool>();
  }
  return FieldError(object, key, "true or false");
}

Result<double> NumberField(const json& object, std::string_view key) {
  if (const json* v = Find(object, key, [](const json& j) { return j.is_number(); })) {
    return v->get<double>();
  }
  return FieldError(object, key, "a number");
}

Result<const json*> ObjectField(const json& object, std::string_view key) {
  if (const json* v = Find(object, key, [](const json& j) { return j.is_object(); })) return v;
  return FieldError(object, key, "an object");
}

Result<const json*> ArrayField(const json& object, std::string_view key) {
  if (const json* v = Find(object, key, [](const json& j) { return j.is_array(); })) return v;
  return FieldError(object, key, "an array");
}

}  // namespace polyarch
