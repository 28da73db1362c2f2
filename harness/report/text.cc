#include "harness/report/text.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include <cmath>
#include <cstdio>

namespace polyarch {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Decodes one code point at s[*i] and advances *i. On an ill-formed sequence it consumes a
// single byte and returns false, so every bad byte becomes exactly one U+FFFD.
bool Decode(std::string_view s, size_t* i, char32_t* cp) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const size_t at = *i;
  const unsigned char c = b(at);
  if (c < 0x80) {
    *cp = c;
    *i = at + 1;
    return true;
  }
  size_t len;
  char32_t v;
  char32_t min;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2, v = c & 0x1F, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, v = c & 0x0F, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    *i = at + 1;
    return false;
  }
  if (at + len > s.size()) {
    *i = at + 1;
    return false;
  }
  for (size_t k = 1; k < len; ++k) {
    if ((b(at + k) & 0xC0) != 0x80) {
      *i = at + 1;
      return false;
    }
    v = (v << 6) | (b(at + k) & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
    *i = at + 1;
    return false;
  }
  *cp = v;
  *i = at + len;
  return true;
}

void Append(std::string* out, char32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Calls f(code point) for every code point of s, U+FFFD standing for each bad byte.
template <typename F>
void ForEachCodePoint(std::string_view s, F f) {
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp;
    if (!Decode(s, &i, &cp)) cp = kReplacement;
    f(cp);
  }
}

// polyarch never calls setlocale, so printf's decimal point is '.' as JSON, XML and SVG
// require; a report must not change with the user's locale.
std::string Printf(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

}  // namespace

std::string PadRight(std::string_view text, size_t width) {
  size_t w = DisplayWidth(text);
  return std::string(text) + std::string(width > w ? width - w : 0, ' ');
}

std::string PadLeft(std::string_view text, size_t width) {
  size_t w = DisplayWidth(text);
  return std::string(width > w ? width - w : 0, ' ') + std::string(text);
}

std::string StringPrintf(const char* format, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, format);
  int n = std::vsnprintf(buf, sizeof buf, format, ap);
  va_end(ap);
  if (n < 0) return "";
  return std::string(buf, std::min(static_cast<size_t>(n), sizeof buf - 1));
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  char32_t cp;
  while (i < s.size()) {
    if (!Decode(s, &i, &cp)) return false;
  }
  return true;
}

std::string ToValidUtf8(std::string_view s) {
  if (IsValidUtf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  ForEachCodePoint(s, [&](char32_t cp) { Append(&out, cp); });
  return out;
}

std::string ToPrintable(std::string_view s, bool keep_newlines) {
  std::string out;
  out.reserve(s.size());
  ForEachCodePoint(s, [&](char32_t cp) {
    if (cp == '\t' || (cp == '\n' && keep_newlines)) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x20) {
      Append(&out, 0x2400 + cp);  // U+2400..U+241F: SYMBOL FOR NULL..UNIT SEPARATOR
    } else if (cp == 0x7F) {
      Append(&out, 0x2421);  // SYMBOL FOR DELETE
    } else if (cp >= 0x80 && cp <= 0x9F) {
      Append(&out, kReplacement);
    } else {
      Append(&out, cp);
    }
  });
  return out;
}

std::string EscapeXml(std::string_view s, bool attribute) {
  std::string out;
  out.reserve(s.size() + 16);
  ForEachCodePoint(s, [&](char32_t cp) {
    switch (cp) {
      case '&':
        out += "&amp;";
        return;
      case '<':
        out += "&lt;";
        return;
      // Needed only in "]]>", but escaping every one is simpler and always right.
      case '>':
        out += "&gt;";
        return;
      case '"':
        out += attribute ? "&quot;" : "\"";
        return;
      case '\t':
        out += attribute ? "&#9;" : "\t";
        return;
      case '\n':
        out += attribute ? "&#10;" : "\n";
        return;
      case '\r':
        out += "&#13;";
        return;  // a raw CR would be folded into LF by parsers
      default:
        break;
    }
    if (cp < 0x20 || cp == 0xFFFE || cp == 0xFFFF) return;  // not allowed in XML 1.0
    Append(&out, cp);
  });
  return out;
}

std::string EscapeHtml(std::string_view s) {
  std::string printable = ToPrintable(s, /*keep_newlines=*/true);
  std::string out;
  out.reserve(printable.size() + 16);
  for (char c : printable) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string_view FirstLine(std::string_view s) {
  size_t nl = s.find('\n');
  return nl == std::string_view::npos ? s : s.substr(0, nl);
}

std::string PrefixLines(std::string_view text, std::string_view first, std::string_view rest) {
  std::string out;
  std::string_view prefix = first;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    out.append(prefix).append(text.substr(0, nl)).push_back('\n');
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
    prefix = rest;
  }
  return out;
}

size_t DisplayWidth(std::string_view utf8) {
  size_t n = 0;
  ForEachCodePoint(utf8, [&](char32_t) { ++n; });
  return n;
}

std::string FormatDurationNs(int64_t ns) {
  double ms = static_cast<double>(ns) / 1e6;
  if (ms < 1) return Printf("%.2f ms", ms);
  if (ms < 10) return Printf("%.1f ms", ms);
  if (ms < 1000) return Printf("%.0f ms", ms);
  double s = ms / 1000;
  if (s < 60) return Printf("%.2f s", s);
  int64_t whole = static_cast<int64_t>(std::llround(s));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld m %02lld s", static_cast<long long>(whole / 60),
                static_cast<long long>(whole % 60));
  return buf;
}

std::string FormatMs(double ms) {
  if (!std::isfinite(ms)) return "n/a";
  double a = std::fabs(ms);
  if (a < 10) return Printf("%.2f", ms);
  if (a < 100) return Printf("%.1f", ms);
  return Printf("%.0f", ms);
}

std::string FormatSeconds(int64_t ns) { return Printf("%.3f", static_cast<double>(ns) / 1e9); }

}  // namespace polyarch
