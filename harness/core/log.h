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
// Turns the streamed expression into void, so PA_LOG can be the arm of a conditional.
struct Voidify {
  void operator&(std::ostream&) {}
};
}  // namespace internal

}  // namespace polyarch

// An expression, not an if statement: safe as the body of an unbraced if/else.
#define PA_LOG(level)                                  \
  !::polyarch::LogEnabled(::polyarch::LogLevel::level) \
      ? (void)0                                        \
      : ::polyarch::internal::Voidify() &              \
            ::polyarch::internal::LogMessage(::polyarch::LogLevel::level).stream()

#endif  // POLYARCH_HARNESS_CORE_LOG_H_
