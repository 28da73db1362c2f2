#include "harness/core/mountinfo.h"

#include <charconv>

#include "harness/core/fs.h"

namespace polyarch {
namespace {

std::string Unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto oct = [](char c) { return c >= '0' && c <= '7'; };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && oct(s[i + 1]) && oct(s[i + 2]) && oct(s[i + 3])) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
      continue;
    }
    out += s[i];
  }
  return out;
}

// The next space-separated field of `s`, consumed.
std::string_view NextField(std::string_view* s) {
  size_t start = s->find_first_not_of(' ');
  if (start == std::string_view::npos) {
    *s = {};
    return {};
  }
  size_t end = s->find(' ', start);
  std::string_view field = s->substr(start, end == std::string_view::npos ? end : end - start);
  *s = end == std::string_view::npos ? std::string_view() : s->substr(end);
  return field;
}

bool ToInt(std::string_view s, int* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string Mount::Describe() const { return mount_point + " (" + fstype + ")"; }

bool ParseMountInfoLine(std::string_view line, Mount* out) {
  size_t dash = line.find(" - ");
  if (dash == std::string_view::npos) return false;
  std::string_view left = line.substr(0, dash), right = line.substr(dash + 3);
  Mount m;
  std::string_view id = NextField(&left), parent = NextField(&left);
  NextField(&left);  // major:minor
  std::string_view root = NextField(&left), mount_point = NextField(&left);
  std::string_view options = NextField(&left);
  std::string_view fstype = NextField(&right), source = NextField(&right);
  std::string_view super_options = NextField(&right);
  if (!ToInt(id, &m.id) || !ToInt(parent, &m.parent) || root.empty() || mount_point.empty() ||
      fstype.empty()) {
    return false;
  }
  m.root = Unescape(root);
  m.mount_point = Unescape(mount_point);
  m.options = std::string(options);
  m.fstype = Unescape(fstype);
  m.source = Unescape(source);
  m.super_options = std::string(super_options);
  *out = std::move(m);
  return true;
}

std::vector<Mount> ParseMountInfo(std::string_view text) {
  std::vector<Mount> mounts;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    Mount m;
    if (ParseMountInfoLine(line, &m)) mounts.push_back(std::move(m));
  }
  return mounts;
}

Result<std::vector<Mount>> ReadMountInfo(const std::string& root, const std::string& pid) {
  PA_ASSIGN_OR_RETURN(std::string text, ReadFile(root + "/proc/" + pid + "/mountinfo", 64 << 20));
  return ParseMountInfo(text);
}

Result<std::vector<std::string>> MountPointsUnder(const std::string& dir) {
  PA_ASSIGN_OR_RETURN(std::vector<Mount> mounts, ReadMountInfo());
  std::vector<std::string> points;
  for (auto& m : mounts) {
    if (PathUnder(m.mount_point, dir)) points.push_back(std::move(m.mount_point));
  }
  return points;
}

bool PathUnder(std::string_view path, std::string_view dir) {
  if (dir.empty()) return false;
  if (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
  if (path.substr(0, dir.size()) != dir) return false;
  return path.size() == dir.size() || dir == "/" || path[dir.size()] == '/';
}

}  // namespace polyarch
