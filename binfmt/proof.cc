#include "binfmt/proof.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "harness/core/fs.h"
#include "harness/core/reaper.h"
#include "harness/core/subprocess.h"

namespace polyarch {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kLoadAddress = 0x400000;
constexpr uint64_t kSegmentAlign = 0x10000;  // covers 4 KiB and 64 KiB page sizes

class Bytes {
 public:
  explicit Bytes(bool big_endian) : big_(big_endian) {}
  void U8(uint8_t v) { s_.push_back(static_cast<char>(v)); }
  void U(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) {
      int shift = big_ ? (n - 1 - i) * 8 : i * 8;
      U8(static_cast<uint8_t>(v >> shift));
    }
  }
  void Raw(std::string_view b) { s_.append(b); }
  size_t size() const { return s_.size(); }
  std::string Take() { return std::move(s_); }

 private:
  bool big_;
  std::string s_;
};

// Machine code for exit(code), as instruction words in the arch's byte order (or raw bytes
// for the variable-length encodings).
std::string ExitCode(const ArchInfo& a, uint8_t code) {
  Bytes b(a.big_endian);
  auto words = [&](std::initializer_list<uint32_t> w) {
    for (uint32_t x : w) b.U(x, 4);
  };
  if (a.name == "amd64") {
    b.Raw(std::string_view("\xbf", 1));  // mov edi, code
    b.U(code, 4);
    b.Raw(std::string_view("\xb8\x3c\x00\x00\x00\x0f\x05", 7));  // mov eax, 60; syscall
  } else if (a.name == "arm") {
    words({0xe3a00000u | code, 0xe3a07001u, 0xef000000u});  // mov r0; mov r7, #1; svc 0
  } else if (a.name == "aarch64") {
    words({0xd2800000u | (uint32_t{code} << 5), 0xd2800ba8u, 0xd4000001u});  // x0; x8=93; svc
  } else if (a.name == "mips" || a.name == "mipsel") {
    words({0x24040000u | code, 0x24020fa1u, 0x0000000cu});  // a0; v0 = 4001; syscall
  } else if (a.name == "mips64" || a.name == "mips64el") {
    words({0x64040000u | code, 0x640213c2u, 0x0000000cu});  // a0; v0 = 5058; syscall
  } else if (a.name == "ppc64le") {
    words({0x38600000u | code, 0x38000001u, 0x44000002u});  // r3; r0 = 1; sc
  } else if (a.name == "s390x") {
    b.Raw(std::string_view("\xa7\x29\x00", 3));  // lghi %r2, code
    b.U8(code);
    b.Raw(std::string_view("\x0a\x01", 2));  // svc 1 (exit)
  } else if (a.name == "riscv64") {
    words({(uint32_t{code} << 20) | 0x00000513u, 0x05d00893u, 0x00000073u});  // a0; a7=93; ecall
  }
  return b.Take();
}

uint32_t ElfFlags(const ArchInfo& a) {
  if (a.name == "arm") return 0x05000400;                             // EABI5, hard float
  if (a.name == "mips" || a.name == "mipsel") return 0x70001007;      // mips32r2, o32
  if (a.name == "mips64" || a.name == "mips64el") return 0x80000007;  // mips64r2, n64
  if (a.name == "ppc64le") return 2;                                  // ELFv2 ABI
  return 0;
}

void WriteErrno(int fd, int err) {
  ssize_t ignored = ::write(fd, &err, sizeof err);
  (void)ignored;
}

}  // namespace

std::string BuildExitElf(const ArchInfo& a, uint8_t code) {
  const bool is64 = a.bits == 64;
  const size_t ehsize = is64 ? 64 : 52;
  const size_t phsize = is64 ? 56 : 32;
  const std::string text = ExitCode(a, code);
  const uint64_t entry = kLoadAddress + ehsize + phsize;
  const uint64_t total = ehsize + phsize + text.size();

  Bytes b(a.big_endian);
  b.Raw(
      std::string_view("\x7f"
                       "ELF",
                       4));
  b.U8(is64 ? 2 : 1);
  b.U8(a.big_endian ? 2 : 1);
  b.U8(1);  // EV_CURRENT
  b.U8(0);  // ELFOSABI_SYSV
  for (int i = 0; i < 8; ++i) b.U8(0);
  b.U(2, 2);  // ET_EXEC
  b.U(a.elf_machine, 2);
  b.U(1, 4);                  // e_version
  b.U(entry, is64 ? 8 : 4);   // e_entry
  b.U(ehsize, is64 ? 8 : 4);  // e_phoff
  b.U(0, is64 ? 8 : 4);       // e_shoff
  b.U(ElfFlags(a), 4);
  b.U(ehsize, 2);
  b.U(phsize, 2);
  b.U(1, 2);               // e_phnum
  b.U(is64 ? 64 : 40, 2);  // e_shentsize
  b.U(0, 2);               // e_shnum
  b.U(0, 2);               // e_shstrndx
  // One PT_LOAD covering the whole file, readable and executable.
  b.U(1, 4);
  if (is64) {
    b.U(5, 4);  // PF_R | PF_X
    b.U(0, 8);
    b.U(kLoadAddress, 8);
    b.U(kLoadAddress, 8);
    b.U(total, 8);
    b.U(total, 8);
    b.U(kSegmentAlign, 8);
  } else {
    b.U(0, 4);
    b.U(kLoadAddress, 4);
    b.U(kLoadAddress, 4);
    b.U(total, 4);
    b.U(total, 4);
    b.U(5, 4);
    b.U(kSegmentAlign, 4);
  }
  b.Raw(text);
  return b.Take();
}

static Result<std::string> WriteProgram(const ArchInfo& arch, const std::string& dir) {
  std::string path = dir + "/proof";
  PA_RETURN_IF_ERROR(WriteFileAtomic(path, BuildExitElf(arch), 0755));
  return path;
}

ProofResult ProveOnHost(const ArchInfo& arch, const std::string& work_dir) {
  ProofResult r;
  auto dir = TempDir::Create("polyarch-proof-", work_dir);
  if (!dir.ok()) {
    r.detail = dir.status().ToString();
    return r;
  }
  auto prog = WriteProgram(arch, dir->path());
  if (!prog.ok()) {
    r.detail = prog.status().ToString();
    return r;
  }
  auto res = RunProcess({*prog}, std::chrono::seconds(20));
  if (!res.ok()) {
    r.detail = res.status().message();
    return r;
  }
  r.duration_ns = res->wall.count();
  r.ok = res->exited && res->exit_code == kProofExitCode;
  r.detail = res->Describe() + (r.ok ? " as expected" : ", expected exit 42") + " (" +
             std::to_string(res->wall.count() / 1000000) + " ms)";
  if (!r.ok && !res->err.Text().empty()) r.detail += ": " + res->err.Text();
  return r;
}

ProofResult ProveInEmptyRoot(const ArchInfo& arch, const std::string& work_dir) {
  ProofResult r;
  auto dir = TempDir::Create("polyarch-root-", work_dir);
  if (!dir.ok()) {
    r.detail = dir.status().ToString();
    return r;
  }
  auto prog = WriteProgram(arch, dir->path());
  if (!prog.ok()) {
    r.detail = prog.status().ToString();
    return r;
  }
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    r.detail = ErrnoStatus(errno, "pipe2").ToString();
    return r;
  }
  const std::string root = dir->path();
  auto start = Clock::now();
  pid_t pid = Reaper::Instance().ForkOwned();
  if (pid < 0) {
    r.detail = ErrnoStatus(errno, "fork").ToString();
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    return r;
  }
  if (pid == 0) {
    // Only system calls from here to execve: the parent may have other threads.
    ::close(err_pipe[0]);
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::chroot(root.c_str()) != 0 || ::chdir("/") != 0) {
      WriteErrno(err_pipe[1], errno);
      ::_exit(126);
    }
    char arg0[] = "/proof";
    char* argv[] = {arg0, nullptr};
    char* envp[] = {nullptr};
    ::execve("/proof", argv, envp);
    WriteErrno(err_pipe[1], errno);
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  int status = 0;
  bool reaped = false;
  auto deadline = start + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      reaped = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!reaped) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  Reaper::Instance().NoteReaped(pid);
  int child_errno = 0;
  bool exec_failed = ::read(err_pipe[0], &child_errno, sizeof child_errno) == sizeof child_errno;
  ::close(err_pipe[0]);
  r.duration_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
  if (!reaped) {
    r.detail = "did not exit within 20 s";
  } else if (exec_failed) {
    r.detail = std::string("exec in an empty root failed: ") + std::strerror(child_errno) +
               (child_errno == ENOENT ? " (the emulator is not reachable there: no F flag?)" : "");
  } else if (WIFEXITED(status)) {
    r.ok = WEXITSTATUS(status) == kProofExitCode;
    r.detail = "exit " + std::to_string(WEXITSTATUS(status)) +
               (r.ok ? " as expected" : ", expected exit 42") + " in an empty root";
  } else if (WIFSIGNALED(status)) {
    r.detail = "killed by signal " + std::to_string(WTERMSIG(status)) + " in an empty root";
  }
  return r;
}

}  // namespace polyarch
