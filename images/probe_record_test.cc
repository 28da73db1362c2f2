#include "images/probe_record.h"

#include <gtest/gtest.h>

namespace polyarch {
namespace {

using nlohmann::json;

const ArchInfo& Arch(const char* name) { return **LookupArch(name); }

json Native() {
  return json::parse(R"({"probe_version":1,"machine":"x86_64","endianness":"little",
    "pointer_bits":64,"argv0":"/probe","int_checksum":"00ff","float_checksum":"0a0b",
    "sha256":"ab","threads":{"ok":true,"sum":10},"signal":{"ok":true},"mmap":{"ok":true},
    "clock":{"ok":true},"exit_passthrough":{"ok":true},"ok":true})");
}

std::string Joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

TEST(ProbeRecordTest, TheNativeRecordMatchesItself) {
  EXPECT_TRUE(CheckProbeRecord(Native(), Arch("amd64"), Native()).empty());
  EXPECT_TRUE(CheckProbeArgv0(Native(), "/probe").empty());
}

TEST(ProbeRecordTest, AnotherArchsRecordIsCheckedAgainstThatArch) {
  json s390x = Native();
  s390x["machine"] = "s390x";
  s390x["endianness"] = "big";
  EXPECT_TRUE(CheckProbeRecord(s390x, Arch("s390x"), Native()).empty())
      << Joined(CheckProbeRecord(s390x, Arch("s390x"), Native()));
  auto failures = CheckProbeRecord(s390x, Arch("arm"), Native());
  EXPECT_EQ(failures.size(), 3u) << Joined(failures);  // machine, endianness, pointer size
}

// The record a broken runtime printed in the field: every field of the wrong type is named
// with what came back, and nothing throws.
TEST(ProbeRecordTest, WrongTypesAreNamedWithWhatCameBack) {
  json bad = json::parse(R"({"machine": 5, "endianness": ["big"], "pointer_bits": "64"})");
  std::string all = Joined(CheckProbeRecord(bad, Arch("s390x"), Native()));
  EXPECT_NE(all.find("field 'machine' is a number (5), expected a string"), std::string::npos)
      << all;
  EXPECT_NE(all.find("field 'endianness' is an array (1 item), expected a string"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("field 'pointer_bits' is a string (\"64\"), expected an integer"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("field 'int_checksum' is missing"), std::string::npos) << all;
  EXPECT_FALSE(CheckProbeMachine(bad, Arch("s390x")).empty());
  EXPECT_NE(Joined(CheckProbeArgv0(bad, "probe")).find("field 'argv0' is missing"),
            std::string::npos);
}

TEST(ProbeRecordTest, ARecordThatIsNotAnObjectFailsEveryCheck) {
  for (const char* text : {"[]", "5", "\"x86_64\"", "null", "true"}) {
    json v = json::parse(text);
    EXPECT_FALSE(CheckProbeRecord(v, Arch("amd64"), Native()).empty()) << text;
    EXPECT_FALSE(CheckProbeIdentity(v, Arch("amd64")).empty()) << text;
    EXPECT_FALSE(CheckProbeMachine(v, Arch("amd64")).empty()) << text;
    EXPECT_FALSE(CheckProbeArgv0(v, "probe").empty()) << text;
  }
  EXPECT_NE(Joined(CheckProbeMachine(json::array(), Arch("amd64"))).find("not a JSON object"),
            std::string::npos);
}

TEST(ProbeRecordTest, ADeterministicFieldThatDiffersIsReportedWithBothValues) {
  json r = Native();
  r["sha256"] = "cd";
  auto failures = CheckProbeRecord(r, Arch("amd64"), Native());
  ASSERT_EQ(failures.size(), 1u) << Joined(failures);
  EXPECT_EQ(failures[0], "'sha256' differs from the native run: \"cd\" vs \"ab\"");
}

}  // namespace
}  // namespace polyarch
