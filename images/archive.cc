#include "images/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "harness/core/fs.h"

namespace polyarch {
namespace {

struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ReadArchive = std::unique_ptr<archive, ReadFree>;
using WriteArchive = std::unique_ptr<archive, WriteFree>;

std::string Normalize(std::string p) {
  while (p.rfind("./", 0) == 0) p.erase(0, 2);
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p;
}

Status ArchiveError(archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return InvalidArgument(what + ": " + (msg ? msg : "libarchive error"));
}

Result<std::string> ReadData(archive* a, const std::string& what, size_t limit) {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf, sizeof buf);
    if (n < 0) return ArchiveError(a, what);
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > limit) {
      return ResourceExhausted(what + ": larger than " + std::to_string(limit) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

la_ssize_t AppendToString(archive*, void* client, const void* buf, size_t n) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

constexpr size_t kMemberLimit = 256 << 20;

}  // namespace

Result<std::string> ReadDebMember(const std::string& deb_path, const std::string& member) {
  PA_ASSIGN_OR_RETURN(std::string deb, ReadFile(deb_path, kMemberLimit));
  ReadArchive outer(archive_read_new());
  archive_read_support_format_ar(outer.get());
  if (archive_read_open_memory(outer.get(), deb.data(), deb.size()) != ARCHIVE_OK) {
    return ArchiveError(outer.get(), deb_path + " is not a Debian package");
  }
  std::string data_tar;
  archive_entry* e = nullptr;
  while (archive_read_next_header(outer.get(), &e) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(e);
    if (name.rfind("data.tar", 0) == 0) {
      PA_ASSIGN_OR_RETURN(data_tar, ReadData(outer.get(), deb_path + ": " + name, kMemberLimit));
      break;
    }
  }
  if (data_tar.empty()) return InvalidArgument(deb_path + ": no data.tar member");

  ReadArchive inner(archive_read_new());
  archive_read_support_filter_all(inner.get());
  archive_read_support_format_tar(inner.get());
  if (archive_read_open_memory(inner.get(), data_tar.data(), data_tar.size()) != ARCHIVE_OK) {
    return ArchiveError(inner.get(), deb_path + ": data archive");
  }
  const std::string want = Normalize(member);
  while (archive_read_next_header(inner.get(), &e) == ARCHIVE_OK) {
    if (Normalize(archive_entry_pathname(e)) != want) continue;
    if (archive_entry_filetype(e) != AE_IFREG) {
      return InvalidArgument(deb_path + ": " + member + " is not a regular file");
    }
    return ReadData(inner.get(), deb_path + ": " + member, kMemberLimit);
  }
  return NotFound(deb_path + ": no member " + member);
}

Result<std::string> WriteReproducibleTar(std::vector<FileEntry> entries) {
  for (auto& e : entries) e.path = Normalize(e.path);
  std::sort(entries.begin(), entries.end(),
            [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].path == entries[i - 1].path) {
      return InvalidArgument("duplicate path in layer: " + entries[i].path);
    }
  }
  std::string out;
  WriteArchive a(archive_write_new());
  archive_write_set_format_ustar(a.get());
  archive_write_add_filter_none(a.get());
  if (archive_write_open(a.get(), &out, nullptr, AppendToString, nullptr) != ARCHIVE_OK) {
    return ArchiveError(a.get(), "tar writer");
  }
  for (const auto& f : entries) {
    if (f.path.empty()) return InvalidArgument("empty path in layer");
    std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), f.path.c_str());
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    archive_entry_set_mtime(e.get(), kReproducibleMtime, 0);
    archive_entry_set_perm(e.get(), static_cast<mode_t>(f.mode));
    switch (f.type) {
      case FileEntry::Type::kFile:
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_size(e.get(), static_cast<la_int64_t>(f.content.size()));
        break;
      case FileEntry::Type::kDir:
        archive_entry_set_filetype(e.get(), AE_IFDIR);
        archive_entry_set_size(e.get(), 0);
        break;
      case FileEntry::Type::kSymlink:
        archive_entry_set_filetype(e.get(), AE_IFLNK);
        archive_entry_set_symlink(e.get(), f.content.c_str());
        archive_entry_set_size(e.get(), 0);
        break;
    }
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) {
      return ArchiveError(a.get(), "tar header for " + f.path);
    }
    if (f.type == FileEntry::Type::kFile && !f.content.empty() &&
        archive_write_data(a.get(), f.content.data(), f.content.size()) !=
            static_cast<la_ssize_t>(f.content.size())) {
      return ArchiveError(a.get(), "tar data for " + f.path);
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return ArchiveError(a.get(), "tar close");
  return out;
}

Status MaterializeEntries(const std::string& root, const std::vector<FileEntry>& entries) {
  PA_RETURN_IF_ERROR(MakeDirs(root));
  std::vector<FileEntry> sorted = entries;
  for (auto& e : sorted) e.path = Normalize(e.path);
  std::sort(sorted.begin(), sorted.end(),
            [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
  for (const auto& f : sorted) {
    if (f.path.find("..") != std::string::npos) return InvalidArgument("path escapes: " + f.path);
    std::string p = root + "/" + f.path;
    switch (f.type) {
      case FileEntry::Type::kDir:
        PA_RETURN_IF_ERROR(MakeDirs(p, static_cast<mode_t>(f.mode)));
        ::chmod(p.c_str(), static_cast<mode_t>(f.mode));
        break;
      case FileEntry::Type::kFile:
        PA_RETURN_IF_ERROR(WriteFileAtomic(p, f.content, static_cast<mode_t>(f.mode)));
        break;
      case FileEntry::Type::kSymlink:
        ::unlink(p.c_str());
        if (::symlink(f.content.c_str(), p.c_str()) != 0) {
          return ErrnoStatus(errno, "symlink " + p);
        }
        break;
    }
  }
  return Status::Ok();
}

Result<std::vector<FileEntry>> ReadTar(const std::string& tar_bytes) {
  ReadArchive a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_memory(a.get(), tar_bytes.data(), tar_bytes.size()) != ARCHIVE_OK) {
    return ArchiveError(a.get(), "tar");
  }
  std::vector<FileEntry> out;
  archive_entry* e = nullptr;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
    FileEntry f;
    f.path = Normalize(archive_entry_pathname(e));
    // archive_entry_perm() clears only the file type bits; a tar mode field has room for
    // more than the permission bits (07777) a FileEntry holds.
    f.mode = archive_entry_perm(e) & 07777;
    switch (archive_entry_filetype(e)) {
      case AE_IFDIR:
        f.type = FileEntry::Type::kDir;
        break;
      case AE_IFLNK:
        f.type = FileEntry::Type::kSymlink;
        f.content = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
        break;
      default: {
        f.type = FileEntry::Type::kFile;
        PA_ASSIGN_OR_RETURN(f.content, ReadData(a.get(), "tar member " + f.path, kMemberLimit));
      }
    }
    out.push_back(std::move(f));
  }
  if (rc != ARCHIVE_EOF) return ArchiveError(a.get(), "tar");
  return out;
}

Status WriteTarFile(const std::string& path,
                    const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out;
  WriteArchive a(archive_write_new());
  archive_write_set_format_ustar(a.get());
  archive_write_add_filter_none(a.get());
  if (archive_write_open(a.get(), &out, nullptr, AppendToString, nullptr) != ARCHIVE_OK) {
    return ArchiveError(a.get(), "tar writer");
  }
  for (const auto& [name, bytes] : files) {
    std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_mtime(e.get(), kReproducibleMtime, 0);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(bytes.size()));
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK ||
        archive_write_data(a.get(), bytes.data(), bytes.size()) !=
            static_cast<la_ssize_t>(bytes.size())) {
      return ArchiveError(a.get(), "writing " + name + " into " + path);
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return ArchiveError(a.get(), "tar close");
  return WriteFileAtomic(path, out);
}

}  // namespace polyarch
