// Recovery of the daemons a killed polyarch could not stop, and of the shims a containerd
// leaves behind: containerd's Stop uses the shim part too, since shims outlive containerd on
// purpose.
#ifndef POLYARCH_HARNESS_DAEMONS_DAEMON_RECOVERY_H_
#define POLYARCH_HARNESS_DAEMONS_DAEMON_RECOVERY_H_

#include <string>

#include <nlohmann/json.hpp>

#include "harness/core/status.h"

namespace polyarch {

// Fixed by containerd and its runc shim, not by its config.toml.
inline constexpr char kRunContainerd[] = "/run/containerd";

// The socket containerd's shim v2 serves for container `id` of namespace `ns` under the daemon
// at `address`: containerd's own rule, /run/containerd/s/<sha256 of "address/ns/id">.
std::string ShimSocketPath(const std::string& address, const std::string& ns,
                           const std::string& id);

// Recovery after polyarch was killed: from one of its journal "daemon" records, stops the
// recorded process if it is still that daemon (its command line names the record's dir),
// removes the containers of shims still serving a containerd socket under the dir and the
// shims, then unmounts whatever is left under the dir and removes its sockets.
Status RecoverDaemon(const nlohmann::json& record);

// Shims still serving the containerd at `address` (found by the exact "-address <socket>" on
// their command line, never by name alone): each container is removed as its runtime would
// (`runc delete --force`), whatever still runs under the shim is killed, then the shim (TERM,
// then KILL) and its socket in /run/containerd/s.
Status KillOrphanShims(const std::string& address);

// The sockets in /run/containerd/s of shims that died without containerd asking them to,
// found through their bundles in the daemon's state under `daemon_dir`; only those nobody
// answers on.
Status RemoveStaleShimSockets(const std::string& daemon_dir);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_DAEMONS_DAEMON_RECOVERY_H_
