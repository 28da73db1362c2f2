// Reading Debian packages and writing reproducible tar streams, through libarchive.
#ifndef POLYARCH_IMAGES_ARCHIVE_H_
#define POLYARCH_IMAGES_ARCHIVE_H_

#include <string>
#include <vector>

#include "harness/core/status.h"

namespace polyarch {

// The content of `member` ("./bin/busybox" or "bin/busybox") from the data archive of the
// .deb at `deb_path`. The .deb (an ar archive) and its data.tar.{xz,zst,gz} are read in
// memory; nothing is unpacked on disk and no dpkg is needed.
Result<std::string> ReadDebMember(const std::string& deb_path, const std::string& member);

// One entry of a layer or bundle. Paths are relative, without a leading "./" or "/".
struct FileEntry {
  enum class Type { kFile, kDir, kSymlink };
  std::string path;
  Type type = Type::kFile;
  int mode = 0644;
  std::string content;  // kFile: the bytes; kSymlink: the target
};

// A tar stream whose bytes depend only on `entries`: sorted by path, ustar format, owner
// 0:0 with empty names, and one fixed mtime. The same entries give the same digest.
inline constexpr long kReproducibleMtime = 946684800;  // 2000-01-01T00:00:00Z
Result<std::string> WriteReproducibleTar(std::vector<FileEntry> entries);

// Writes `entries` under `root` (directories, files with their modes, symlinks).
Status MaterializeEntries(const std::string& root, const std::vector<FileEntry>& entries);

// Reads a tar (any format libarchive knows) into entries; for tests and the fuzzers.
Result<std::vector<FileEntry>> ReadTar(const std::string& tar_bytes);

// Writes a tar file at `path` of `files` (name -> bytes), reproducibly, in the given order.
Status WriteTarFile(const std::string& path,
                    const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace polyarch

#endif  // POLYARCH_IMAGES_ARCHIVE_H_
