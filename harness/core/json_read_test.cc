#include "harness/core/json_read.h"

#include <gtest/gtest.h>

namespace polyarch {
namespace {

using nlohmann::json;

TEST(JsonReadTest, FieldsOfTheRightTypeAreRead) {
  json j = json::parse(R"({"s":"x","b":true,"n":1.5,"i":-3,"o":{},"a":[1]})");
  EXPECT_EQ(*StringField(j, "s"), "x");
  EXPECT_TRUE(*BoolField(j, "b"));
  EXPECT_EQ(*NumberField(j, "n"), 1.5);
  EXPECT_EQ(*NumberField(j, "i"), -3);
  EXPECT_EQ(*IntegerField<int>(j, "i"), -3);
  EXPECT_TRUE((*ObjectField(j, "o"))->is_object());
  EXPECT_EQ((*ArrayField(j, "a"))->size(), 1u);
}

TEST(JsonReadTest, AFieldOfAnotherTypeIsNamedWithWhatItHolds) {
  json j = json::parse(R"({"machine":5,"endianness":["big"],"bits":"64","f":2.5,"big":1e300})");
  EXPECT_EQ(StringField(j, "machine").status().message(),
            "field 'machine' is a number (5), expected a string");
  EXPECT_EQ(StringField(j, "endianness").status().message(),
            "field 'endianness' is an array (1 item), expected a string");
  EXPECT_EQ(IntegerField<int>(j, "bits").status().message(),
            "field 'bits' is a string (\"64\"), expected an integer");
  EXPECT_FALSE(IntegerField<int>(j, "f").ok()) << "a float is not an integer";
  EXPECT_FALSE(IntegerField<int>(j, "big").ok());
  EXPECT_EQ(BoolField(j, "missing").status().message(), "field 'missing' is missing");
  EXPECT_EQ(BoolField(j, "machine").status().code(), Code::kInvalidArgument);
}

TEST(JsonReadTest, ADocumentThatIsNotAnObjectIsSaidSo) {
  for (const char* text : {"[]", "5", "\"s\"", "null", "false"}) {
    json j = json::parse(text);
    auto r = StringField(j, "machine");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().message().find("not an object"), std::string::npos) << text;
  }
  json discarded = json::parse("{", nullptr, false);
  EXPECT_FALSE(StringField(discarded, "x").ok());
}

TEST(JsonReadTest, DescriptionsAreShortAndNeverThrow) {
  EXPECT_EQ(DescribeJson(json()), "null");
  EXPECT_EQ(DescribeJson(json(true)), "true");
  EXPECT_EQ(DescribeJson(json::object()), "an object");
  EXPECT_EQ(DescribeJson(json::array({1, 2})), "an array (2 items)");
  std::string longer = DescribeJson(json(std::string(500, 'a')));
  EXPECT_LT(longer.size(), 120u);
  EXPECT_NE(longer.find("..."), std::string::npos);
  // Bytes that are not UTF-8 (a runtime's output) are described, not thrown on.
  EXPECT_NE(DescribeJson(json(std::string("\xff\xfe"))).find("a string"), std::string::npos);
}

}  // namespace
}  // namespace polyarch
