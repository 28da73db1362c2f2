// What the containerd layer's files share (containerd_layer.cc, containerd_driver.cc,
// containerd_images.cc, containerd_cleanup.cc): the journal kinds of what the layer creates,
// the bounds on captured output, and small helpers. Not for use outside the layer.
#ifndef POLYARCH_HARNESS_DRIVERS_CONTAINERD_CONTAINERD_INTERNAL_H_
#define POLYARCH_HARNESS_DRIVERS_CONTAINERD_CONTAINERD_INTERNAL_H_

#include <chrono>
#include <cstddef>
#include <string>

#include "harness/core/status.h"

namespace polyarch::ctd {

inline constexpr char kKindNamespace[] = "containerd-namespace";
inline constexpr char kKindLease[] = "containerd-lease";
inline constexpr char kKindImage[] = "containerd-image";
inline constexpr char kKindSnapshot[] = "containerd-snapshot";
inline constexpr char kKindContainer[] = "containerd-container";

// Content.Write takes a blob in chunks; containerd's own client uses 1 MiB.
inline constexpr size_t kWriteChunk = 1 << 20;
// The container's stdout and stderr, interleaved, for the report.
inline constexpr size_t kContainerOutputBytes = 16 * 1024;
inline constexpr size_t kExecOutputBytes = 64 * 1024;
// After a process exits the shim still copies what it wrote into the FIFO, then closes it.
inline constexpr std::chrono::milliseconds kOutputGrace{2000};
// The import lease protects half-imported content only while Create runs; should polyarch
// die first, containerd's GC drops the lease after this.
inline constexpr std::chrono::hours kLeaseExpiry{1};

// "sha256:abc" -> "abc".
inline std::string Hex(const std::string& digest) {
  auto colon = digest.find(':');
  return colon == std::string::npos ? digest : digest.substr(colon + 1);
}

// What was to be removed is gone, either way.
inline bool NotFoundOrOk(const Status& s) { return s.ok() || s.code() == Code::kNotFound; }

}  // namespace polyarch::ctd

#endif  // POLYARCH_HARNESS_DRIVERS_CONTAINERD_CONTAINERD_INTERNAL_H_
