// What the probe's `info` record must say, checked field by field. The record comes from
// inside a container through the stack under test, so it is untrusted: a field of the wrong
// type or missing is a failure naming the field and what came back, never an exception.
#ifndef POLYARCH_IMAGES_PROBE_RECORD_H_
#define POLYARCH_IMAGES_PROBE_RECORD_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "binfmt/arch.h"

namespace polyarch {

// The fields of the record that must be identical on every architecture.
const std::vector<std::string>& DeterministicProbeFields();

// The record's machine, endianness and pointer size against what `arch` runs as.
std::vector<std::string> CheckProbeIdentity(const nlohmann::json& record, const ArchInfo& arch);

// Only `uname -m` as seen inside, against `arch`.
std::vector<std::string> CheckProbeMachine(const nlohmann::json& record, const ArchInfo& arch);

// CheckProbeIdentity, then every deterministic field against the native run's record
// (which must be a record the native probe printed on this host).
std::vector<std::string> CheckProbeRecord(const nlohmann::json& record, const ArchInfo& arch,
                                          const nlohmann::json& native);

// The record's argv0 against `want`.
std::vector<std::string> CheckProbeArgv0(const nlohmann::json& record, const std::string& want);

}  // namespace polyarch

#endif  // POLYARCH_IMAGES_PROBE_RECORD_H_
