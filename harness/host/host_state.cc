#include "harness/host/host_state.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>

#include "binfmt/procfs.h"
#include "harness/core/cgroups.h"
#include "harness/core/fs.h"
#include "harness/core/mountinfo.h"
#include "harness/core/proc.h"

namespace polyarch {
namespace {

using nlohmann::json;

// Whether `text` names `path` as a whole path (or a prefix of one): "/a/f1" is in "/a/f1/x" and
// in "lowerdir=/a/f1,upperdir=..." but not in "/a/f10". Scenario directories differ in a suffix,
// so a plain substring test would attribute one scenario's leftovers to another.
bool NamesPath(std::string_view text, std::string_view path) {
  if (path.empty()) return false;
  for (size_t at = text.find(path); at != std::string_view::npos; at = text.find(path, at + 1)) {
    size_t end = at + path.size();
    if (end == text.size()) return true;
    char next = text[end];
    if (!std::isalnum(static_cast<unsigned char>(next)) && next != '-' && next != '_' &&
        next != '.') {
      return true;
    }
  }
  return false;
}

bool Under(std::string_view path, std::string_view root) {
  if (root.empty()) return false;
  return path == root || (path.size() > root.size() && path.substr(0, root.size()) == root &&
                          (root.back() == '/' || path[root.size()] == '/'));
}

bool StartsWithAny(std::string_view name, const std::vector<std::string>& prefixes) {
  for (const auto& p : prefixes) {
    if (!p.empty() && name.substr(0, p.size()) == p) return true;
  }
  return false;
}

std::string Join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    names.emplace_back(e->d_name);
  }
  ::closedir(d);
  return names;
}

bool IsPid(const std::string& name) {
  return !name.empty() &&
         std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Socket inodes a process holds open ("socket:[123]" links in /proc/<pid>/fd).
void SocketInodes(const std::string& root, pid_t pid, std::set<std::string>* out) {
  const std::string fd_dir = root + "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& fd : ListDir(fd_dir)) {
    char target[128] = {};
    ssize_t n = ::readlink((fd_dir + "/" + fd).c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    std::string_view t(target, static_cast<size_t>(n));
    if (t.substr(0, 8) == "socket:[" && t.back() == ']') {
      out->insert(std::string(t.substr(8, t.size() - 9)));
    }
  }
}

// Bound unix socket paths -> their inodes, from /proc/net/unix.
std::multimap<std::string, std::string> BoundUnixSockets(const std::string& root) {
  std::multimap<std::string, std::string> bound;
  auto text = ReadFile(root + "/proc/net/unix", 64 << 20);
  if (!text.ok()) return bound;
  std::istringstream in(*text);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string num, refs, proto, flags, type, st, inode, path;
    if (!(f >> num >> refs >> proto >> flags >> type >> st >> inode)) continue;
    if (!(f >> path) || path.empty() || path[0] != '/') continue;  // unnamed or abstract
    bound.emplace(path, inode);
  }
  return bound;
}

// Socket files under `dir`, `depth` levels down, never crossing into another file system (a
// container's rootfs or a daemon's overlay is not walked).
void FindSockets(const std::string& dir, int depth, std::vector<std::string>* out) {
  (void)WalkSameFileSystem(
      dir, depth, [out](const std::string& path, const std::string&, const struct stat& st) {
        if (S_ISSOCK(st.st_mode)) out->push_back(path);
        return WalkNext::kDescend;
      });
}

// Entries under `dir`, `depth` levels down, whose name starts with one of `tokens`; what such an
// entry holds is its own (not listed), and no other file system is entered.
void FindNamed(const std::string& dir, int depth, const std::vector<std::string>& tokens,
               std::vector<std::string>* out) {
  (void)WalkSameFileSystem(
      dir, depth, [&](const std::string& path, const std::string& name, const struct stat&) {
        if (!StartsWithAny(name, tokens)) return WalkNext::kDescend;
        out->push_back(path);
        return WalkNext::kSkip;
      });
}

json ProcessJson(const HostProcess& p) {
  return {{"pid", p.pid}, {"ppid", p.ppid}, {"state", std::string(1, p.state)}, {"argv", p.argv}};
}

// Added and removed elements of two lists compared as multisets.
template <typename T, typename Key, typename ToJson>
void DiffLists(const std::vector<T>& before, const std::vector<T>& after, Key key, ToJson to_json,
               const char* category, json* diff) {
  std::multiset<std::string> b, a;
  for (const auto& x : before) b.insert(key(x));
  for (const auto& x : after) a.insert(key(x));
  json added = json::array(), removed = json::array();
  std::multiset<std::string> seen_b, seen_a;
  for (const auto& x : after) {
    std::string k = key(x);
    seen_a.insert(k);
    if (seen_a.count(k) > b.count(k)) added.push_back(to_json(x));
  }
  for (const auto& x : before) {
    std::string k = key(x);
    seen_b.insert(k);
    if (seen_b.count(k) > a.count(k)) removed.push_back(to_json(x));
  }
  if (added.empty() && removed.empty()) return;
  json& c = (*diff)[category];
  c = json::object();
  if (!added.empty()) c["added"] = std::move(added);
  if (!removed.empty()) c["removed"] = std::move(removed);
}

}  // namespace

HostState TakeHostState(const HostStateScope& scope) {
  HostState s;
  const pid_t self = scope.self > 0 ? scope.self : ::getpid();
  const std::string& root = scope.root;
  // A path of the host, read under root; what a walk found there, as the host's path.
  auto under = [&root](const std::string& path) { return root + path; };
  auto host_path = [&root](std::string path) { return path.substr(root.size()); };

  // Processes: one pass over /proc for the parent map and what each process is.
  struct Seen {
    ProcStat stat;
    std::vector<std::string> argv;
  };
  std::map<pid_t, Seen> all;
  for (const auto& name : ListDir(under("/proc"))) {
    if (!IsPid(name)) continue;
    Seen seen;
    if (!ReadProcStat(static_cast<pid_t>(std::atoi(name.c_str())), &seen.stat, root)) continue;
    seen.argv = ProcessArgv(name, root);
    all[static_cast<pid_t>(std::atoi(name.c_str()))] = std::move(seen);
  }
  auto descends_from_self = [&](pid_t pid) {
    for (int hops = 0; hops < 64 && pid > 1; ++hops) {
      auto it = all.find(pid);
      if (it == all.end()) return false;
      pid = it->second.stat.ppid;
      if (pid == self) return true;
    }
    return false;
  };
  std::set<pid_t> in_scope;
  for (const auto& [pid, seen] : all) {
    if (pid == self || seen.argv.empty()) continue;  // kernel threads and zombies have no argv
    const std::string cmdline = Join(seen.argv);
    bool ours = false;
    for (const auto& dir : scope.dirs) ours |= NamesPath(cmdline, dir);
    for (const auto& token : scope.tokens) ours |= !token.empty() && NamesPath(cmdline, token);
    if (!ours && !scope.tokens.empty()) {
      // A container's process: its command line is the image's, its cgroup is named after it.
      auto cg = ReadFilePrefix(under("/proc/" + std::to_string(pid) + "/cgroup"), 16384);
      if (cg.ok()) {
        for (const auto& token : scope.tokens) {
          ours |= !token.empty() && cg->find("/" + token) != std::string::npos;
        }
      }
    }
    if (!ours) {
      bool named = false;
      for (const auto& n : scope.process_names) {
        named |= !n.empty() && cmdline.find(n) != std::string::npos;
      }
      ours = named && descends_from_self(pid);
    }
    if (!ours) continue;
    in_scope.insert(pid);
    s.processes.push_back({pid, seen.stat.ppid, seen.stat.state, seen.argv});
  }

  // Zombies: polyarch's own children nobody reaped, from every thread's children file.
  std::set<pid_t> children;
  const std::string task_dir = under("/proc/" + std::to_string(self) + "/task");
  for (const auto& tid : ListDir(task_dir)) {
    auto text = ReadFile(task_dir + "/" + tid + "/children", 1 << 20);
    if (!text.ok()) continue;
    std::istringstream in(*text);
    for (pid_t p; in >> p;) children.insert(p);
  }
  for (pid_t p : children) {
    ProcStat st;
    if (!ReadProcStat(p, &st, root) || st.state != 'Z') continue;
    s.zombies.push_back({p, st.ppid, st.state, {"[" + st.comm + "]"}});
  }

  // Mounts.
  if (auto mounts = ReadMountInfo(root, std::to_string(self)); mounts.ok()) {
    for (const Mount& m : *mounts) {
      bool ours = false;
      for (const auto& dir : scope.dirs) {
        ours |= Under(m.mount_point, dir) || NamesPath(m.source, dir) ||
                NamesPath(m.super_options, dir);
      }
      for (const auto& root : scope.mount_roots) ours |= Under(m.mount_point, root);
      if (ours) s.mounts.push_back(m.mount_point + " " + m.fstype);
    }
  }
  std::sort(s.mounts.begin(), s.mounts.end());

  // Cgroups: top-level directories of every hierarchy named with a token.
  for (const auto& hierarchy : CgroupRoots(root)) {
    for (const auto& name : ListDir(under(hierarchy))) {
      if (!StartsWithAny(name, scope.tokens)) continue;
      struct stat st {};
      if (::stat(under(hierarchy + "/" + name).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        s.cgroups.push_back(hierarchy + "/" + name);
      }
    }
  }
  std::sort(s.cgroups.begin(), s.cgroups.end());
  s.cgroups.erase(std::unique(s.cgroups.begin(), s.cgroups.end()), s.cgroups.end());

  // binfmt_misc entries.
  RealProcFs procfs(under(std::string(kBinfmtDir)));
  if (auto names = procfs.ListEntries(); names.ok()) {
    for (const auto& name : *names) {
      bool watched = std::find(scope.binfmt_names.begin(), scope.binfmt_names.end(), name) !=
                     scope.binfmt_names.end();
      if (!watched && !StartsWithAny(name, scope.tokens)) continue;
      auto text = procfs.ReadEntry(name);
      s.binfmt[name] = text.ok() ? *text : "(unreadable: " + text.status().message() + ")";
    }
  }

  // Sockets: all of them under the scope's directories; under the daemons' fixed directories
  // only those polyarch's processes listen on, or nobody does (a stale socket file).
  std::vector<std::string> found;
  for (const auto& dir : scope.dirs) FindSockets(under(dir), 24, &found);
  for (auto& path : found) s.sockets.push_back(host_path(std::move(path)));
  std::vector<std::string> shared;
  for (const auto& dir : scope.socket_dirs) FindSockets(under(dir), 4, &shared);
  for (auto& path : shared) path = host_path(std::move(path));
  if (!shared.empty()) {
    auto bound = BoundUnixSockets(root);
    std::set<std::string> our_inodes;
    for (pid_t p : in_scope) SocketInodes(root, p, &our_inodes);
    for (const auto& path : shared) {
      auto [lo, hi] = bound.equal_range(path);
      bool listened = lo != hi;
      bool by_us = false;
      for (auto it = lo; it != hi; ++it) by_us |= our_inodes.count(it->second) > 0;
      if (!listened || by_us) s.sockets.push_back(path);
    }
  }
  std::sort(s.sockets.begin(), s.sockets.end());
  s.sockets.erase(std::unique(s.sockets.begin(), s.sockets.end()), s.sockets.end());

  if (!scope.tokens.empty()) {
    std::vector<std::string> named;
    for (const auto& dir : scope.name_dirs) FindNamed(under(dir), 3, scope.tokens, &named);
    for (auto& path : named) s.paths.push_back(host_path(std::move(path)));
  }
  std::sort(s.paths.begin(), s.paths.end());
  for (const auto& dir : scope.fixed_dirs) {
    if (PathExists(under(dir))) s.fixed_dirs.push_back(dir);
  }
  std::sort(s.fixed_dirs.begin(), s.fixed_dirs.end());
  return s;
}

nlohmann::json DiffHostState(const HostState& before, const HostState& after) {
  json diff = json::object();
  auto process_key = [](const HostProcess& p) {
    return std::to_string(p.pid) + "\n" + Join(p.argv);
  };
  auto string_key = [](const std::string& s) { return s; };
  auto string_json = [](const std::string& s) { return json(s); };
  DiffLists(before.processes, after.processes, process_key, ProcessJson, "processes", &diff);
  DiffLists(before.zombies, after.zombies, process_key, ProcessJson, "zombies", &diff);
  DiffLists(before.mounts, after.mounts, string_key, string_json, "mounts", &diff);
  DiffLists(before.cgroups, after.cgroups, string_key, string_json, "cgroups", &diff);
  DiffLists(before.sockets, after.sockets, string_key, string_json, "sockets", &diff);
  DiffLists(before.paths, after.paths, string_key, string_json, "paths", &diff);
  DiffLists(before.fixed_dirs, after.fixed_dirs, string_key, string_json, "fixed_dirs", &diff);

  json added = json::array(), removed = json::array(), changed = json::array();
  for (const auto& [name, text] : after.binfmt) {
    auto it = before.binfmt.find(name);
    if (it == before.binfmt.end()) {
      added.push_back({{"name", name}, {"status", text}});
    } else if (it->second != text) {
      changed.push_back({{"name", name}, {"before", it->second}, {"after", text}});
    }
  }
  for (const auto& [name, text] : before.binfmt) {
    if (!after.binfmt.count(name)) removed.push_back({{"name", name}, {"status", text}});
  }
  if (!added.empty() || !removed.empty() || !changed.empty()) {
    json& c = diff["binfmt"];
    c = json::object();
    if (!added.empty()) c["added"] = std::move(added);
    if (!removed.empty()) c["removed"] = std::move(removed);
    if (!changed.empty()) c["changed"] = std::move(changed);
  }
  return diff;
}

nlohmann::json HostStateCounts(const HostState& state) {
  return {{"processes", state.processes.size()}, {"zombies", state.zombies.size()},
          {"mounts", state.mounts.size()},       {"cgroups", state.cgroups.size()},
          {"binfmt", state.binfmt.size()},       {"sockets", state.sockets.size()},
          {"paths", state.paths.size()},         {"fixed_dirs", state.fixed_dirs.size()}};
}

}  // namespace polyarch
