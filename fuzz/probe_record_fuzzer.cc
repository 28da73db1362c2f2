// The probe's `info` record, as the cross-arch suite reads it: it comes out of a container
// through the stack under test (a runtime's exec, an engine's attach), so it may be anything.
//
// Invariants, for every arch: the checks never throw; a record that is not an object, or
// whose machine, endianness or pointer_bits has the wrong type, yields at least one failure
// naming the field; a record equal to the native one passes for the host arch.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "binfmt/arch.h"
#include "fuzz/fuzz_util.h"
#include "images/builder.h"
#include "images/probe_record.h"

namespace {

using nlohmann::json;

const json& Native() {
  static const json kNative = json::parse(
      R"({"probe_version":1,"machine":"x86_64","endianness":"little","pointer_bits":64,
          "argv0":"/probe","int_checksum":"1","float_checksum":"2","sha256":"3",
          "threads":{"ok":true,"sum":1},"signal":{"ok":true},"mmap":{"ok":true},
          "clock":{"ok":true},"exit_passthrough":{"ok":true},"ok":true})");
  return kNative;
}

bool Mentions(const std::vector<std::string>& failures, const std::string& what) {
  for (const auto& f : failures) {
    if (f.find(what) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const json record =
      json::parse(polyarch_fuzz::AsString(data, size), nullptr, /*allow_exceptions=*/false);
  for (const polyarch::ArchInfo* arch : polyarch::ImageArches()) {
    std::vector<std::string> all, identity, machine, argv0;
    try {
      all = polyarch::CheckProbeRecord(record, *arch, Native());
      identity = polyarch::CheckProbeIdentity(record, *arch);
      machine = polyarch::CheckProbeMachine(record, *arch);
      argv0 = polyarch::CheckProbeArgv0(record, "probe");
    } catch (const std::exception& e) {
      FUZZ_CHECK(false, std::string("a check threw: ") + e.what());
    }
    if (!record.is_object()) {
      FUZZ_CHECK(!all.empty() && !identity.empty() && !machine.empty() && !argv0.empty(),
                 "a record that is not an object passed a check");
      continue;
    }
    auto m = record.find("machine");
    if (m == record.end() || !m->is_string()) {
      FUZZ_CHECK(Mentions(machine, "'machine'"), "a bad machine field was not named");
      FUZZ_CHECK(Mentions(all, "'machine'"), "a bad machine field was not named");
    }
    auto b = record.find("pointer_bits");
    if (b == record.end() || !b->is_number_integer()) {
      FUZZ_CHECK(Mentions(identity, "'pointer_bits'"), "a bad pointer_bits was not named");
    }
    FUZZ_CHECK(identity.size() <= all.size(), "CheckProbeRecord dropped an identity failure");
  }
  const polyarch::ArchInfo* host = polyarch::HostArch();
  if (host != nullptr && host->uname_machine == std::string_view("x86_64")) {
    FUZZ_CHECK(polyarch::CheckProbeRecord(Native(), *host, Native()).empty(),
               "the native record fails against itself");
  }
  return 0;
}
