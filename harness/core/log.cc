#include "harness/core/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

namespace polyarch {
namespace {
std::atomic<LogLevel> g_level{LogLevel::kInfo};

std::string_view Prefix(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "polyarch: debug: ";
    case LogLevel::kInfo:
      return "polyarch: ";
    case LogLevel::kWarning:
      return "polyarch: warning: ";
    case LogLevel::kError:
      return "polyarch: error: ";
    case LogLevel::kQuiet:
      return "";
  }
  return "";
}
}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(level); }
LogLevel GetLogLevel() { return g_level.load(); }
bool LogEnabled(LogLevel level) { return level >= g_level.load(); }

void LogLine(LogLevel level, std::string_view text) {
  std::string line(Prefix(level));
  line += text;
  if (line.empty() || line.back() != '\n') line += '\n';
  // One write(2) per line keeps lines whole across threads and processes.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace polyarch
