#include "binfmt/entry.h"

#include <gtest/gtest.h>

namespace polyarch {
namespace {

Entry S390x(std::string flags = "F") {
  return EntryForArch(**LookupArch("s390x"), "polyarch-", "/usr/bin", flags);
}

TEST(EntryTest, RegistrationLineEscapesEveryByteAndRoundTrips) {
  Entry e = S390x();
  std::string line = e.RegistrationLine();
  EXPECT_EQ(line.rfind(":polyarch-s390x:M:0:\\x7f\\x45\\x4c\\x46", 0), 0u) << line;
  EXPECT_NE(line.find(":/usr/bin/qemu-s390x-static:F"), std::string::npos);
  auto parsed = ParseRegistration(line);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->magic, e.magic);
  EXPECT_EQ(parsed->mask, e.mask);
  EXPECT_EQ(parsed->interpreter, e.interpreter);
  EXPECT_EQ(parsed->flags, "F");
  EXPECT_TRUE(ValidateEntry(e).ok());
  EXPECT_TRUE(ValidatePolicy(e).ok());
}

TEST(EntryTest, MagicBytesEqualToTheDelimiterCannotBreakTheLine) {
  Entry e = S390x();
  e.magic[8] = ':';
  e.mask[8] = '\xff';
  auto parsed = ParseRegistration(e.RegistrationLine());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->magic[8], ':');
}

struct KernelRuleCase {
  const char* line;
  const char* expect_in_message;
};

class KernelRuleTest : public ::testing::TestWithParam<KernelRuleCase> {};

TEST_P(KernelRuleTest, RejectedWithTheRuleNamed) {
  auto r = ParseRegistration(GetParam().line);
  ASSERT_FALSE(r.ok()) << GetParam().line;
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find(GetParam().expect_in_message), std::string::npos)
      << r.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    EveryRule, KernelRuleTest,
    ::testing::Values(
        KernelRuleCase{":a:M::x", "11 to 1920"},  // too short
        KernelRuleCase{"::M::\\x7f::/bin/q:F", "name is empty"},
        KernelRuleCase{":.:M::\\x7f::/bin/q:F", "'.' or '..'"},
        KernelRuleCase{":..:M::\\x7f::/bin/q:F", "'.' or '..'"},
        KernelRuleCase{":a/b:M::\\x7f::/bin/q:F", "'/'"},
        KernelRuleCase{":abc:X::\\x7f::/bin/q:F", "M or E"},
        KernelRuleCase{":abc:M:-1:\\x7f::/bin/q:F", "decimal number"},
        KernelRuleCase{":abc:M:1x:\\x7f::/bin/q:F", "decimal number"},
        KernelRuleCase{":abc:M::::/bin/q:F", "may not be empty"},  // empty magic
        KernelRuleCase{":abc:M::\\x7:\\xff:/bin/q:F", "two hex digits"},
        KernelRuleCase{":abc:M::\\xzz:\\xff:/bin/q:F", "two hex digits"},
        KernelRuleCase{":abc:M::\\x7f\\x45:\\xff:/bin/q:F", "differs from magic length"},
        KernelRuleCase{":abc:M:120:\\x7f\\x45\\x4c\\x46\\x01\\x01\\x01\\x01\\x01:\\xff\\xff\\xff"
                       "\\xff\\xff\\xff\\xff\\xff\\xff:/bin/q:F",
                       "exceeds 128"},
        KernelRuleCase{":abc:M::\\x7f:\\xff::F", "interpreter may not be empty"},
        KernelRuleCase{":abc:M::\\x7f:\\xff:/bin/q:FX", "not one of P, O, C, F"},
        KernelRuleCase{":abc:E:1:py::/bin/q:", "no offset"},
        KernelRuleCase{":abc:E::p/y::/bin/q:", "'/'"},
        KernelRuleCase{":abc:M::\\x7f:\\xff:/bin/q", "fewer than 7 fields"}));

TEST(EntryTest, TooLongLineIsRejected) {
  std::string line = ":abc:M::\\x7f::/" + std::string(2000, 'q') + ":F";
  auto r = ParseRegistration(line);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("1920"), std::string::npos);
}

TEST(EntryTest, AcceptsWhatTheKernelAccepts) {
  EXPECT_TRUE(ParseRegistration(":py:E::py::/usr/bin/python3:\n").ok());
  auto e = ParseRegistration("|abc|M||\\x7fELF||/bin/q|POCF");  // another delimiter, no mask
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->magic, std::string("\x7f"
                                  "ELF"));
  EXPECT_TRUE(e->mask.empty());
  EXPECT_EQ(e->flags, "POCF");
}

TEST(EntryTest, FlagsAreCanonicalAndCImpliesO) {
  EXPECT_EQ(*CanonicalFlags("fp"), "PF");
  EXPECT_EQ(*CanonicalFlags("F,P,C"), "POCF");
  EXPECT_EQ(*CanonicalFlags(""), "");
  auto bad = CanonicalFlags("FZ");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'Z'"), std::string::npos);
}

TEST(EntryTest, PolicyRefusesOpenBinaryAloneAndOddNames) {
  Entry e = S390x("OF");
  EXPECT_TRUE(ValidateEntry(e).ok());  // the kernel would take it
  EXPECT_NE(ValidatePolicy(e).message().find("flag O alone"), std::string::npos);
  e = S390x("POCF");
  EXPECT_TRUE(ValidatePolicy(e).ok());
  e = S390x();
  e.name = "bad name";
  EXPECT_FALSE(ValidatePolicy(e).ok());
  e = S390x();
  e.interpreter = "qemu-s390x-static";
  EXPECT_NE(ValidatePolicy(e).message().find("absolute"), std::string::npos);
}

TEST(EntryTest, ParsesTheKernelStatusFormat) {
  const char* text =
      "enabled\n"
      "interpreter /usr/bin/qemu-s390x-static\n"
      "flags: F\n"
      "offset 0\n"
      "magic 7f454c4602020100000000000000000000020016\n"
      "mask fffffffffffffffcfffffffffffffffffffeffff\n";
  auto k = ParseKernelEntry("polyarch-s390x", text);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_TRUE(k->enabled);
  EXPECT_EQ(k->flags, "F");
  EXPECT_EQ(k->magic.size(), 20u);
  EXPECT_TRUE(HandlesArch(*k, **LookupArch("s390x")));
  EXPECT_FALSE(HandlesArch(*k, **LookupArch("aarch64")));
  Entry mine = S390x();
  EXPECT_TRUE(SameContent(mine, *k));
  mine.flags = "PF";
  EXPECT_FALSE(SameContent(mine, *k));
  EXPECT_FALSE(ParseKernelEntry("x", "garbage\n").ok());
  auto ext =
      ParseKernelEntry("py", "disabled\ninterpreter /usr/bin/python3\nflags: \nextension .py\n");
  ASSERT_TRUE(ext.ok());
  EXPECT_FALSE(ext->enabled);
  EXPECT_EQ(ext->type, 'E');
  EXPECT_EQ(ext->magic, "py");
}

}  // namespace
}  // namespace polyarch
