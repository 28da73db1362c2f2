#include "fake_procfs.h"

#include <cerrno>

#include "binfmt/entry.h"

namespace polyarch {

static std::string Render(const Entry& e) {
  std::string s = "enabled\ninterpreter " + e.interpreter + "\nflags: " + e.flags + "\n";
  if (e.type == 'E') return s + "extension ." + e.magic + "\n";
  s += "offset " + std::to_string(e.offset) + "\nmagic " + HexBytes(e.magic) + "\n";
  if (!e.mask.empty()) s += "mask " + HexBytes(e.mask) + "\n";
  return s;
}

Status FakeProcFs::Mount() {
  ++mount_calls;
  mounted = true;
  return Status::Ok();
}

Result<std::vector<std::string>> FakeProcFs::ListEntries() {
  std::vector<std::string> names;
  for (const auto& [name, text] : entries_) names.push_back(name);
  return names;
}

Result<std::string> FakeProcFs::ReadEntry(const std::string& name) {
  auto it = entries_.find(name);
  if (it == entries_.end()) return ErrnoStatus(ENOENT, "open " + name);
  return it->second;
}

Status FakeProcFs::Register(const std::string& line) {
  writes.push_back("register " + line);
  auto e = ParseRegistration(line);
  if (!e.ok()) return ErrnoStatus(EINVAL, "write register");
  if (fail_register.count(e->name)) return ErrnoStatus(EINVAL, "write register");
  if (entries_.count(e->name)) return ErrnoStatus(EEXIST, "write register");
  entries_[e->name] = Render(*e);
  return Status::Ok();
}

Status FakeProcFs::RemoveEntry(const std::string& name) {
  writes.push_back("remove " + name);
  if (!IsEntryName(name)) return InvalidArgument("refusing to write to '" + name + "'");
  if (fail_remove.count(name)) return ErrnoStatus(EBUSY, "write " + name);
  if (entries_.erase(name) == 0) return ErrnoStatus(ENOENT, "open " + name);
  return Status::Ok();
}

void FakeProcFs::Preload(const std::string& line) {
  auto e = ParseRegistration(line);
  if (e.ok()) entries_[e->name] = Render(*e);
}

}  // namespace polyarch
