// Tar streams (image layers, docker-archives, the data.tar of a .deb) read through
// libarchive by ReadTar, in any compression libarchive knows.
//
// Seeds are generated at start-up with polyarch's own writer and libarchive (see
// AddGeneratedSeeds): a fuzzer cannot find a tar header's checksum by chance.
//
// Invariants: accepted entries have normalized paths; entries read from a tar and written
// again by WriteReproducibleTar read back the same, and writing them twice gives the same
// bytes (the same entries give the same digest).
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "images/archive.h"

namespace {

using polyarch::FileEntry;

std::vector<FileEntry> SampleEntries() {
  return {
      {"bin", FileEntry::Type::kDir, 0755, ""},
      {"bin/busybox", FileEntry::Type::kFile, 0755,
       "\x7f"
       "ELF not really"},
      {"bin/sh", FileEntry::Type::kSymlink, 0777, "busybox"},
      {"etc/polyarch-image.json", FileEntry::Type::kFile, 0644, "{\"arch\":\"s390x\"}\n"},
      {"empty", FileEntry::Type::kFile, 0600, ""},
  };
}

la_ssize_t Append(archive*, void* client, const void* buf, size_t n) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

// The sample as another format and compression than WriteReproducibleTar's plain ustar.
std::string WriteWith(int (*set_format)(archive*), int (*add_filter)(archive*)) {
  std::string out;
  std::unique_ptr<archive, int (*)(archive*)> a(archive_write_new(), archive_write_free);
  set_format(a.get());
  add_filter(a.get());
  archive_write_open(a.get(), &out, nullptr, Append, nullptr);
  auto entries = SampleEntries();
  entries.push_back({std::string(150, 'd') + "/long-name", FileEntry::Type::kFile, 0644, "x"});
  for (const auto& f : entries) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                               archive_entry_free);
    archive_entry_set_pathname(e.get(), f.path.c_str());
    archive_entry_set_perm(e.get(), static_cast<mode_t>(f.mode));
    archive_entry_set_filetype(e.get(), f.type == FileEntry::Type::kDir       ? AE_IFDIR
                                        : f.type == FileEntry::Type::kSymlink ? AE_IFLNK
                                                                              : AE_IFREG);
    if (f.type == FileEntry::Type::kSymlink) archive_entry_set_symlink(e.get(), f.content.c_str());
    archive_entry_set_size(
        e.get(), f.type == FileEntry::Type::kFile ? static_cast<la_int64_t>(f.content.size()) : 0);
    archive_write_header(a.get(), e.get());
    if (!f.content.empty() && f.type == FileEntry::Type::kFile) {
      archive_write_data(a.get(), f.content.data(), f.content.size());
    }
  }
  archive_write_close(a.get());
  return out;
}

std::string Describe(const std::vector<FileEntry>& entries) {
  std::string s;
  for (const auto& e : entries) {
    s += "  '" + e.path + "' type " + std::to_string(static_cast<int>(e.type)) + " mode " +
         std::to_string(e.mode) + " content " + std::to_string(e.content.size()) + " bytes\n";
  }
  return s;
}

bool SameEntries(const std::vector<FileEntry>& a, const std::vector<FileEntry>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].path != b[i].path || a[i].type != b[i].type || a[i].mode != b[i].mode ||
        a[i].content != b[i].content) {
      return false;
    }
  }
  return true;
}

// A ustar whose first header's mode field holds bits above the permission bits (0400000),
// which ReadTar once passed on as the mode (the header checksum is recomputed).
std::string WithHighModeBits(std::string tar) {
  const char mode[8] = {'0', '4', '0', '5', '3', '2', '0', '\0'};
  std::copy(mode, mode + 8, tar.begin() + 100);
  std::fill(tar.begin() + 148, tar.begin() + 156, ' ');
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += static_cast<unsigned char>(tar[i]);
  char checksum[8];
  std::snprintf(checksum, sizeof checksum, "%06o", sum);
  std::copy(checksum, checksum + 7, tar.begin() + 148);
  return tar;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  auto plain = polyarch::WriteReproducibleTar(SampleEntries());
  FUZZ_CHECK(plain.ok(), plain.status().ToString());
  polyarch_fuzz::AddGeneratedSeeds(
      *argc, *argv,
      {{"ustar.tar", *plain},
       {"pax.tar.gz",
        WriteWith(archive_write_set_format_pax_restricted, archive_write_add_filter_gzip)},
       {"gnu.tar.xz", WriteWith(archive_write_set_format_gnutar, archive_write_add_filter_xz)},
       {"v7.tar", WriteWith(archive_write_set_format_v7tar, archive_write_add_filter_none)},
       {"regression-mode-bits.tar", WithHighModeBits(*plain)}});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto entries = polyarch::ReadTar(polyarch_fuzz::AsString(data, size));
  if (!entries.ok()) return 0;
  for (const auto& e : *entries) {
    FUZZ_CHECK(e.path.rfind("./", 0) != 0 && (e.path.empty() || e.path.front() != '/') &&
                   (e.path.empty() || e.path.back() != '/'),
               "a path that is not normalized: " + e.path);
  }
  auto written = polyarch::WriteReproducibleTar(*entries);
  if (!written.ok()) return 0;  // not every tar is a layer (duplicates, empty paths)
  auto reread = polyarch::ReadTar(*written);
  FUZZ_CHECK(reread.ok(), "a tar polyarch wrote does not read back: " + reread.status().ToString());
  std::vector<FileEntry> sorted = *entries;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
  FUZZ_CHECK(SameEntries(*reread, sorted), "entries written and read back differ:\n" +
                                               Describe(sorted) + "read back as:\n" +
                                               Describe(*reread));
  auto rewritten = polyarch::WriteReproducibleTar(*reread);
  FUZZ_CHECK(rewritten.ok() && *rewritten == *written, "the same entries gave other bytes");
  return 0;
}
