// Diagnostics for the person running polyarch, on stderr. Results never go through here:
// they are values that reporters format.
#ifndef POLYARCH_HARNESS_CORE_LOG_H_
#define POLYARCH_HARNESS_CORE_LOG_H_

#include <sstream>
#include <string_view>

namespace polyarch {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kQuiet = 4 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
bool LogEnabled(LogLevel level);
// Writes one whole line, so lines from concurrent threads never interleave.
void LogLine(LogLevel level, std::string_view text);

namespace internal {
class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage() { LogLine(level_, stream_.str()); }
  std::ostringstream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};
}  // namespace internal

}  // namespace polyarch

#define PA_LOG(level)                                         \
  if (!::polyarch::LogEnabled(::polyarch::LogLevel::level)) { \
  } else                                                      \
    ::polyarch::internal::LogMessage(::polyarch::LogLevel::level).stream()

#endif  // POLYARCH_HARNESS_CORE_LOG_H_
