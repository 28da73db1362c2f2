#include "harness/core/proc.h"

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <thread>

#include "harness/core/fs.h"

namespace polyarch {
namespace {

// The next space-separated field of `s`, consumed.
std::string_view Next(std::string_view* s) {
  size_t start = s->find_first_not_of(' ');
  if (start == std::string_view::npos) {
    *s = {};
    return {};
  }
  size_t end = s->find(' ', start);
  std::string_view f = s->substr(start, end == std::string_view::npos ? end : end - start);
  *s = end == std::string_view::npos ? std::string_view() : s->substr(end);
  return f;
}

template <typename Int>
bool ToInt(std::string_view s, Int* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

double ProcStat::CpuSeconds() const {
  return static_cast<double>(CpuTicks()) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

bool ParseProcStat(std::string_view text, ProcStat* out) {
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return false;
  }
  ProcStat st;
  std::string_view pid = text.substr(0, open);
  while (!pid.empty() && pid.back() == ' ') pid.remove_suffix(1);
  if (!ToInt(pid, &st.pid)) return false;
  st.comm = std::string(text.substr(open + 1, close - open - 1));
  std::string_view rest = text.substr(close + 1);
  std::string_view state = Next(&rest);
  if (state.size() != 1) return false;
  st.state = state[0];
  if (!ToInt(Next(&rest), &st.ppid)) return false;
  // Fields 5 to 13 (pgrp ... cmajflt), then utime (14) and stime (15).
  for (int field = 5; field <= 13; ++field) Next(&rest);
  if (!ToInt(Next(&rest), &st.utime) || !ToInt(Next(&rest), &st.stime)) return false;
  *out = std::move(st);
  return true;
}

bool ReadProcStat(pid_t pid, ProcStat* out, const std::string& root) {
  auto text = ReadFilePrefix(root + "/proc/" + std::to_string(pid) + "/stat", 4096);
  return text.ok() && ParseProcStat(*text, out);
}

bool ProcessGone(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  ProcStat st;
  return !ReadProcStat(pid, &st) || st.state == 'Z';
}

int UsableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) {
    return CPU_COUNT(&set);
  }
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace polyarch
