#include "binfmt/entry.h"

#include <cctype>
#include <sstream>

namespace polyarch {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The kernel's scanarg + string_unescape(UNESCAPE_HEX): "\xNN" must carry two hex digits;
// other backslashes stay literal.
Result<std::string> Unescape(std::string_view field, std::string_view what) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 1 < field.size() && field[i + 1] == 'x') {
      if (i + 3 >= field.size() || HexValue(field[i + 2]) < 0 || HexValue(field[i + 3]) < 0) {
        return InvalidArgument(std::string(what) +
                               ": a \\x escape must be followed by two hex digits (kernel rule)");
      }
      out.push_back(static_cast<char>(HexValue(field[i + 2]) * 16 + HexValue(field[i + 3])));
      i += 3;
      continue;
    }
    out.push_back(field[i]);
  }
  return out;
}

Result<std::string> FromHex(std::string_view hex, std::string_view what) {
  if (hex.size() % 2 != 0) return InvalidArgument(std::string(what) + ": odd-length hex");
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexValue(hex[i]), lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return InvalidArgument(std::string(what) + ": not hex");
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string Masked(std::string_view magic, std::string_view mask) {
  std::string out(magic);
  if (mask.size() == magic.size()) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>(out[i] & mask[i]);
  }
  return out;
}

}  // namespace

std::string EscapeBytes(std::string_view bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : bytes) {
    s += "\\x";
    s += kHex[c >> 4];
    s += kHex[c & 15];
  }
  return s;
}

std::string HexBytes(std::string_view bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : bytes) {
    s += kHex[c >> 4];
    s += kHex[c & 15];
  }
  return s;
}

std::string Entry::RegistrationLine() const {
  std::string s = ":" + name + ":" + std::string(1, type) + ":";
  if (type == 'M') {
    s += std::to_string(offset) + ":" + EscapeBytes(magic) + ":" + EscapeBytes(mask);
  } else {
    s += ":" + magic + ":";
  }
  s += ":" + interpreter + ":" + flags;
  return s;
}

Result<std::string> CanonicalFlags(std::string_view flags) {
  bool p = false, o = false, c = false, f = false;
  for (char ch : flags) {
    switch (std::toupper(static_cast<unsigned char>(ch))) {
      case 'P':
        p = true;
        break;
      case 'O':
        o = true;
        break;
      case 'C':
        c = o = true;
        break;  // the kernel sets OPEN_BINARY with CREDENTIALS
      case 'F':
        f = true;
        break;
      case ',':
      case ' ':
        break;
      default:
        return InvalidArgument("unknown binfmt flag '" + std::string(1, ch) + "' in '" +
                               std::string(flags) + "'; the kernel accepts only P, O, C and F");
    }
  }
  std::string out;
  if (p) out += 'P';
  if (o) out += 'O';
  if (c) out += 'C';
  if (f) out += 'F';
  return out;
}

Status ValidateEntry(const Entry& e) {
  const std::string who = "binfmt entry '" + e.name + "'";
  if (e.name.empty()) return InvalidArgument("binfmt entry name is empty (kernel rule)");
  if (e.name == "." || e.name == "..") {
    return InvalidArgument(who + ": the name may not be '.' or '..' (kernel rule)");
  }
  if (e.name.find('/') != std::string::npos) {
    return InvalidArgument(who + ": the name may not contain '/' (kernel rule)");
  }
  if (e.name.find(':') != std::string::npos) {
    return InvalidArgument(who + ": the name may not contain the delimiter ':'");
  }
  if (e.type != 'M' && e.type != 'E') {
    return InvalidArgument(who + ": type must be M (magic) or E (extension) (kernel rule)");
  }
  if (e.magic.empty()) {
    return InvalidArgument(who + ": the magic (or extension) may not be empty (kernel rule)");
  }
  if (e.type == 'E') {
    if (e.offset != 0 || !e.mask.empty()) {
      return InvalidArgument(who + ": an extension entry has no offset and no mask (kernel rule)");
    }
    if (e.magic.find('/') != std::string::npos) {
      return InvalidArgument(who + ": the extension may not contain '/' (kernel rule)");
    }
    // Written raw into the registration line (an 'M' magic is \x-escaped instead), and
    // shown on one line of the kernel's status file.
    if (e.magic.find_first_of(":\n") != std::string::npos) {
      return InvalidArgument(who +
                             ": the extension may not contain the delimiter ':' or a newline");
    }
  } else {
    if (!e.mask.empty() && e.mask.size() != e.magic.size()) {
      return InvalidArgument(who + ": mask length " + std::to_string(e.mask.size()) +
                             " differs from magic length " + std::to_string(e.magic.size()) +
                             " (kernel rule: they must be equal)");
    }
    if (e.offset + e.magic.size() > kPortableMagicLimit) {
      return InvalidArgument(who + ": offset " + std::to_string(e.offset) + " + magic size " +
                             std::to_string(e.magic.size()) + " exceeds " +
                             std::to_string(kPortableMagicLimit) +
                             " bytes (kernel rule: the magic must lie in the first bytes read)");
    }
  }
  if (e.interpreter.empty()) {
    return InvalidArgument(who + ": the interpreter may not be empty (kernel rule)");
  }
  if (e.interpreter.find(':') != std::string::npos) {
    return InvalidArgument(who + ": the interpreter path may not contain the delimiter ':'");
  }
  // The kernel's status file prints the interpreter on one line: with a newline in it the
  // entry could never be read back as polyarch's own, so uninstall would leave it behind.
  if (e.interpreter.find('\n') != std::string::npos) {
    return InvalidArgument(who + ": the interpreter path may not contain a newline");
  }
  for (char c : e.flags) {
    if (c != 'P' && c != 'O' && c != 'C' && c != 'F') {
      return InvalidArgument(who + ": flag '" + std::string(1, c) +
                             "' is not one of P, O, C, F (kernel rule)");
    }
  }
  size_t length = e.RegistrationLine().size();
  if (length < 11 || length > kMaxRegisterLength) {
    return InvalidArgument(who + ": registration line is " + std::to_string(length) +
                           " bytes; the kernel accepts 11 to " +
                           std::to_string(kMaxRegisterLength));
  }
  return Status::Ok();
}

Status ValidatePolicy(const Entry& e) {
  const std::string who = "binfmt entry '" + e.name + "'";
  if (e.name.size() > 64) return InvalidArgument(who + ": name longer than 64 characters");
  for (unsigned char c : e.name) {
    if (!std::isalnum(c) && c != '.' && c != '_' && c != '+' && c != '-') {
      return InvalidArgument(who + ": name may hold only letters, digits and . _ + -");
    }
  }
  if (e.interpreter.empty() || e.interpreter[0] != '/') {
    return InvalidArgument(who + ": interpreter '" + e.interpreter + "' is not an absolute path");
  }
  bool has_o = e.flags.find('O') != std::string::npos;
  bool has_c = e.flags.find('C') != std::string::npos;
  if (has_o && !has_c) {
    return InvalidArgument(who +
                           ": flag O alone (open-binary without credentials) is refused: "
                           "it hands unreadable binaries to the emulator; use C if needed");
  }
  return Status::Ok();
}

Result<Entry> ParseRegistration(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (line.size() + 1 < 11 || line.size() > kMaxRegisterLength) {
    return InvalidArgument("registration line of " + std::to_string(line.size()) +
                           " bytes; the kernel accepts 11 to " +
                           std::to_string(kMaxRegisterLength));
  }
  const char del = line[0];
  std::vector<std::string_view> f;
  size_t pos = 1;
  for (int i = 0; i < 6; ++i) {
    size_t next = line.find(del, pos);
    if (next == std::string_view::npos) {
      return InvalidArgument("registration line has fewer than 7 fields (kernel rule)");
    }
    f.push_back(line.substr(pos, next - pos));
    pos = next + 1;
  }
  f.push_back(line.substr(pos));  // flags: the rest of the line
  Entry e;
  e.name = std::string(f[0]);
  if (f[1].size() != 1) return InvalidArgument("type field must be one letter, M or E");
  e.type = f[1][0];
  if (e.type != 'M' && e.type != 'E') {
    return InvalidArgument("type must be M or E (kernel rule)");
  }
  if (!f[2].empty()) {
    if (e.type == 'E') return InvalidArgument("an extension entry takes no offset (kernel rule)");
    unsigned long v = 0;
    for (char c : f[2]) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || v > 100000) {
        return InvalidArgument("offset '" + std::string(f[2]) +
                               "' is not a decimal number >= 0 (kernel rule)");
      }
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    e.offset = static_cast<unsigned>(v);
  }
  if (e.type == 'M') {
    PA_ASSIGN_OR_RETURN(e.magic, Unescape(f[3], "magic"));
    PA_ASSIGN_OR_RETURN(e.mask, Unescape(f[4], "mask"));
  } else {
    e.magic = std::string(f[3]);
    if (!f[4].empty()) return InvalidArgument("an extension entry takes no mask (kernel rule)");
  }
  e.interpreter = std::string(f[5]);
  for (char c : f[6]) {
    if (c != 'P' && c != 'O' && c != 'C' && c != 'F') {
      return InvalidArgument("flag '" + std::string(1, c) +
                             "' is not one of P, O, C, F (kernel rule)");
    }
  }
  PA_ASSIGN_OR_RETURN(e.flags, CanonicalFlags(f[6]));
  PA_RETURN_IF_ERROR(ValidateEntry(e));
  return e;
}

Result<KernelEntry> ParseKernelEntry(std::string_view name, std::string_view text) {
  KernelEntry k;
  k.name = std::string(name);
  std::istringstream in{std::string(text)};
  std::string line;
  bool saw_state = false, saw_interp = false, saw_magic = false;
  while (std::getline(in, line)) {
    if (line == "enabled" || line == "disabled") {
      k.enabled = line == "enabled";
      saw_state = true;
    } else if (line.rfind("interpreter ", 0) == 0) {
      k.interpreter = line.substr(12);
      saw_interp = true;
    } else if (line.rfind("flags:", 0) == 0) {
      std::string fl = line.substr(6);
      fl.erase(0, fl.find_first_not_of(' '));
      k.flags = fl;
    } else if (line.rfind("offset ", 0) == 0) {
      k.offset = static_cast<unsigned>(std::strtoul(line.c_str() + 7, nullptr, 10));
    } else if (line.rfind("magic ", 0) == 0) {
      PA_ASSIGN_OR_RETURN(k.magic, FromHex(line.substr(6), "magic"));
      saw_magic = true;
    } else if (line.rfind("mask ", 0) == 0) {
      PA_ASSIGN_OR_RETURN(k.mask, FromHex(line.substr(5), "mask"));
    } else if (line.rfind("extension ", 0) == 0) {
      k.type = 'E';
      k.magic = line.substr(10);
      if (!k.magic.empty() && k.magic[0] == '.') k.magic.erase(0, 1);
      saw_magic = true;
    }
  }
  if (!saw_state || !saw_interp || !saw_magic) {
    return InvalidArgument("binfmt_misc entry '" + std::string(name) +
                           "' is not in the kernel's status format");
  }
  return k;
}

bool SameContent(const Entry& e, const KernelEntry& k) {
  if (e.type != k.type || e.interpreter != k.interpreter || e.flags != k.flags) return false;
  if (e.type == 'E') return e.magic == k.magic;
  return e.offset == k.offset && e.mask == k.mask &&
         Masked(e.magic, e.mask) == Masked(k.magic, k.mask);
}

bool HandlesArch(const KernelEntry& k, const ArchInfo& arch) {
  if (k.type != 'M' || k.offset != 0 || !arch.has_binfmt()) return false;
  return k.mask == arch.mask && Masked(k.magic, k.mask) == Masked(arch.magic, arch.mask);
}

Entry EntryForArch(const ArchInfo& arch, std::string_view prefix, std::string_view emulator_dir,
                   std::string_view flags) {
  Entry e;
  e.name = std::string(prefix) + std::string(arch.name);
  e.type = 'M';
  e.offset = 0;
  e.magic = std::string(arch.magic);
  e.mask = std::string(arch.mask);
  std::string dir(emulator_dir);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  e.interpreter = dir + "/qemu-" + std::string(arch.qemu) + "-static";
  e.flags = std::string(flags);
  return e;
}

}  // namespace polyarch
