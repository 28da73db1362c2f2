#include "harness/core/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <sstream>

#include "harness/core/fs.h"
#include "harness/core/timing.h"

namespace polyarch {
namespace {

constexpr int kFormatVersion = 1;
// Compact when the file has grown past this and holds mostly removed records.
constexpr off_t kCompactBytes = 256 * 1024;

// An flock on "<journal>.lock", held for one read-modify-write.
class FileLock {
 public:
  FileLock(const std::string& journal_path, int op) {
    std::string p = journal_path + ".lock";
    fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      status_ = ErrnoStatus(errno, "open " + p);
      return;
    }
    while (::flock(fd_, op) != 0) {
      if (errno == EINTR) continue;
      status_ = ErrnoStatus(errno, "flock " + p);
      return;
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  const Status& status() const { return status_; }

 private:
  int fd_ = -1;
  Status status_;
};

}  // namespace

Result<Journal> Journal::Open(const std::string& path) {
  if (path.empty()) return InvalidArgument("empty journal path");
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    PA_RETURN_IF_ERROR(MakeDirs(path.substr(0, slash), 0700));
  }
  return Journal(path);
}

Status Journal::Append(const nlohmann::json& line, bool durable) {
  FileLock lock(path_, LOCK_EX);
  PA_RETURN_IF_ERROR(lock.status());
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "open journal " + path_);
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::string_view rest = text;
  Status s;
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      s = ErrnoStatus(errno, "append to journal " + path_);
      break;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (s.ok() && durable && ::fsync(fd) != 0) s = ErrnoStatus(errno, "fsync journal " + path_);
  ::close(fd);
  return s;
}

Status Journal::Add(const JournalRecord& record) {
  nlohmann::json line = {{"v", kFormatVersion}, {"op", "add"},         {"kind", record.kind},
                         {"key", record.key},   {"data", record.data}, {"time", UtcNow()},
                         {"pid", ::getpid()}};
  const std::string& run = record.run.empty() ? run_ : record.run;
  if (!run.empty()) line["run"] = run;
  return Append(line, record.durable);
}

Status Journal::Remove(std::string_view kind, std::string_view key, bool durable) {
  nlohmann::json line = {{"v", kFormatVersion}, {"op", "remove"},   {"kind", kind},
                         {"key", key},          {"time", UtcNow()}, {"pid", ::getpid()}};
  PA_RETURN_IF_ERROR(Append(line, durable));
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && st.st_size > kCompactBytes) return Compact();
  return Status::Ok();
}

Result<std::vector<JournalRecord>> Journal::LiveLocked() const {
  auto text = ReadFile(path_);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return std::vector<JournalRecord>{};
    return text.status();
  }
  std::vector<JournalRecord> live;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    // A torn line from a crash mid-append carries no committed intent: skip it.
    if (j.is_discarded() || !j.is_object()) continue;
    auto kind = j.value("kind", std::string());
    auto key = j.value("key", std::string());
    auto op = j.value("op", std::string());
    if (kind.empty() || key.empty()) continue;
    std::erase_if(live, [&](const JournalRecord& r) { return r.kind == kind && r.key == key; });
    if (op == "add") {
      JournalRecord r{kind, key, j.contains("data") ? j["data"] : nlohmann::json::object(),
                      j.value("run", std::string())};
      live.push_back(std::move(r));
    }
  }
  return live;
}

Result<std::vector<JournalRecord>> Journal::Live() const {
  FileLock lock(path_, LOCK_SH);
  PA_RETURN_IF_ERROR(lock.status());
  return LiveLocked();
}

Result<std::vector<JournalRecord>> Journal::Live(std::string_view kind) const {
  PA_ASSIGN_OR_RETURN(auto all, Live());
  std::erase_if(all, [&](const JournalRecord& r) { return r.kind != kind; });
  return all;
}

Status Journal::Compact() {
  FileLock lock(path_, LOCK_EX);
  PA_RETURN_IF_ERROR(lock.status());
  PA_ASSIGN_OR_RETURN(auto live, LiveLocked());
  std::string text;
  for (const auto& r : live) {
    nlohmann::json line = {{"v", kFormatVersion}, {"op", "add"},    {"kind", r.kind},
                           {"key", r.key},        {"data", r.data}, {"time", UtcNow()},
                           {"pid", ::getpid()}};
    if (!r.run.empty()) line["run"] = r.run;
    text += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return WriteFileAtomic(path_, text, 0600);
}

}  // namespace polyarch
