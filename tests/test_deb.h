// Builds a minimal Debian package (ar: debian-binary, control.tar.xz, data.tar.xz) for tests
// of code that reads .debs, without the network or dpkg.
#ifndef POLYARCH_TESTS_TEST_DEB_H_
#define POLYARCH_TESTS_TEST_DEB_H_

#include <archive.h>
#include <archive_entry.h>

#include <string>
#include <utility>
#include <vector>

#include "harness/core/fs.h"
#include "harness/core/status.h"

namespace polyarch::testing {

inline std::string TarXz(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_xz(a);
  archive_write_open(
      a, &out, nullptr,
      [](archive*, void* c, const void* b, size_t n) -> la_ssize_t {
        static_cast<std::string*>(c)->append(static_cast<const char*>(b), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr);
  for (const auto& [name, bytes] : files) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0755);
    archive_entry_set_size(e, static_cast<la_int64_t>(bytes.size()));
    archive_write_header(a, e);
    archive_write_data(a, bytes.data(), bytes.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

inline Status WriteTestDeb(const std::string& path,
                           const std::vector<std::pair<std::string, std::string>>& data) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_ar_svr4(a);
  archive_write_open(
      a, &out, nullptr,
      [](archive*, void* c, const void* b, size_t n) -> la_ssize_t {
        static_cast<std::string*>(c)->append(static_cast<const char*>(b), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr);
  std::vector<std::pair<std::string, std::string>> members = {
      {"debian-binary", "2.0\n"},
      {"control.tar.xz", TarXz({{"./control", "Package: busybox-static\n"}})},
      {"data.tar.xz", TarXz(data)}};
  for (const auto& [name, bytes] : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(bytes.size()));
    archive_write_header(a, e);
    archive_write_data(a, bytes.data(), bytes.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return WriteFileAtomic(path, out);
}

}  // namespace polyarch::testing

#endif  // POLYARCH_TESTS_TEST_DEB_H_
