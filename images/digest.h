// SHA-256 digests (OpenSSL), in the "sha256:<hex>" form OCI and Docker use.
#ifndef POLYARCH_IMAGES_DIGEST_H_
#define POLYARCH_IMAGES_DIGEST_H_

#include <string>
#include <string_view>

#include "harness/core/status.h"

namespace polyarch {

std::string Sha256Hex(std::string_view data);
inline std::string Sha256Digest(std::string_view data) { return "sha256:" + Sha256Hex(data); }
Result<std::string> Sha256FileHex(const std::string& path);

}  // namespace polyarch

#endif  // POLYARCH_IMAGES_DIGEST_H_
