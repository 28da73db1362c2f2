#include "images/probe_record.h"

#include "harness/core/json_read.h"

namespace polyarch {

using nlohmann::json;

namespace {

std::string Quote(const std::string& s) { return "'" + s + "'"; }

std::string Dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

// The record itself must be an object; every check starts here.
bool IsRecord(const json& record, std::vector<std::string>* failures) {
  if (record.is_object()) return true;
  failures->push_back("the probe record is " + DescribeJson(record) + ", not a JSON object");
  return false;
}

void CheckMachine(const json& record, const ArchInfo& arch, std::vector<std::string>* failures) {
  auto machine = StringField(record, "machine");
  if (!machine.ok()) {
    failures->push_back("probe record: " + machine.status().message());
  } else if (*machine != arch.uname_machine) {
    failures->push_back("uname machine is " + Quote(*machine) + ", expected " +
                        Quote(std::string(arch.uname_machine)));
  }
}

}  // namespace

const std::vector<std::string>& DeterministicProbeFields() {
  static const std::vector<std::string> kFields = {"int_checksum", "float_checksum",   "sha256",
                                                   "threads",      "signal",           "mmap",
                                                   "clock",        "exit_passthrough", "ok"};
  return kFields;
}

std::vector<std::string> CheckProbeMachine(const json& record, const ArchInfo& arch) {
  std::vector<std::string> failures;
  if (IsRecord(record, &failures)) CheckMachine(record, arch, &failures);
  return failures;
}

std::vector<std::string> CheckProbeIdentity(const json& record, const ArchInfo& arch) {
  std::vector<std::string> failures;
  if (!IsRecord(record, &failures)) return failures;
  CheckMachine(record, arch, &failures);
  const std::string want_endian = arch.big_endian ? "big" : "little";
  auto endian = StringField(record, "endianness");
  if (!endian.ok()) {
    failures.push_back("probe record: " + endian.status().message());
  } else if (*endian != want_endian) {
    failures.push_back("endianness is " + Quote(*endian) + ", expected " + Quote(want_endian));
  }
  auto bits = IntegerField<int>(record, "pointer_bits");
  if (!bits.ok()) {
    failures.push_back("probe record: " + bits.status().message());
  } else if (*bits != arch.bits) {
    failures.push_back("pointer size is " + std::to_string(*bits) + " bits, expected " +
                       std::to_string(arch.bits));
  }
  return failures;
}

std::vector<std::string> CheckProbeRecord(const json& record, const ArchInfo& arch,
                                          const json& native) {
  std::vector<std::string> failures = CheckProbeIdentity(record, arch);
  if (!record.is_object()) return failures;
  for (const auto& field : DeterministicProbeFields()) {
    auto it = record.find(field);
    if (it == record.end()) {
      failures.push_back("probe record: field '" + field + "' is missing");
      continue;
    }
    auto want = native.is_object() ? native.find(field) : native.end();
    if (want == native.end() || *it != *want) {
      failures.push_back("'" + field + "' differs from the native run: " + Dump(*it) + " vs " +
                         (want == native.end() ? std::string("(absent)") : Dump(*want)));
    }
  }
  return failures;
}

std::vector<std::string> CheckProbeArgv0(const json& record, const std::string& want) {
  std::vector<std::string> failures;
  if (!IsRecord(record, &failures)) return failures;
  auto argv0 = StringField(record, "argv0");
  if (!argv0.ok()) {
    failures.push_back("probe record: " + argv0.status().message());
  } else if (*argv0 != want) {
    failures.push_back("argv[0] seen inside is " + Quote(*argv0) + ", expected " + Quote(want));
  }
  return failures;
}

}  // namespace polyarch
