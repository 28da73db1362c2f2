// Making text from the stack safe for each output format. Outputs and reasons come from
// runtimes, daemons and emulated programs: they may hold invalid UTF-8, terminal escapes or
// bytes XML forbids. Every reporter passes such text through one of these functions, so a
// broken container can never produce a broken (or terminal-hijacking) report.
#ifndef POLYARCH_HARNESS_REPORT_TEXT_H_
#define POLYARCH_HARNESS_REPORT_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace polyarch {

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s);

// Each byte that is not part of a well-formed sequence becomes U+FFFD; the rest is kept.
std::string ToValidUtf8(std::string_view s);

// Valid UTF-8 that is safe to show on a terminal or a page: C0 controls and DEL become their
// Unicode control pictures ("\x01" -> U+2401), except tab and, when keep_newlines, newline;
// C1 controls (which some terminals act on) become U+FFFD.
std::string ToPrintable(std::string_view s, bool keep_newlines);

// XML 1.0 character data or a double-quoted attribute value. Characters XML 1.0 forbids
// (C0 controls other than tab, LF, CR; U+FFFE, U+FFFF) are dropped. In attributes, tab,
// LF and CR are written as character references so parsers do not normalize them away.
std::string EscapeXml(std::string_view s, bool attribute);

// HTML text or a double-quoted attribute value, from ToPrintable(s, true).
std::string EscapeHtml(std::string_view s);

// The first line of s (without the newline), for one-line listings.
std::string_view FirstLine(std::string_view s);

// Each line of `text` after a prefix, `first` for the first line and `rest` for the others,
// each ending in a newline: a reason or an output indented under its heading. "" for "".
std::string PrefixLines(std::string_view text, std::string_view first, std::string_view rest);

// Number of code points, the width a terminal gives ASCII and most Latin text.
size_t DisplayWidth(std::string_view utf8);

// Padded with spaces to `width` columns by display width, so colored or non-ASCII text still
// lines up; longer text is returned as it is.
std::string PadRight(std::string_view text, size_t width);
std::string PadLeft(std::string_view text, size_t width);

// printf into a string (at most 255 bytes). polyarch never calls setlocale, so the decimal
// point is '.'.
std::string StringPrintf(const char* format, ...) __attribute__((format(printf, 1, 2)));

// Durations for people: "0.42 ms", "3.1 ms", "31 ms", "2.45 s", "1 m 02 s".
std::string FormatDurationNs(int64_t ns);
// A millisecond value for chart labels: 3 significant digits at most, no exponent.
std::string FormatMs(double ms);
// Seconds with 3 decimals ("0.031"), as JUnit's time attribute wants.
std::string FormatSeconds(int64_t ns);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_REPORT_TEXT_H_
