// probe: a static program that runs inside a container of any CPU architecture and reports
// what it observes. `probe info` prints one JSON line; `probe check` prints one JSON line of
// what the process was given (ids, environment, limits, namespaces, mounts), to compare with
// the OCI config; the other subcommands give the harness controllable behaviour (exit
// codes, signals, files, environment).
//
// Plain C11 + POSIX so that every Debian cross compiler builds it with -static. The
// deterministic fields of `info` must come out identical on every architecture, so that
// code uses only explicit-width integer types, never depends on pointer values, byte order
// or word size, and avoids libm functions other than the correctly rounded sqrt.

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { kExitOk = 0, kExitFailed = 1, kExitUsage = 2 };

static const char kUsage[] =
    "usage: probe COMMAND [ARGS]\n"
    "  info                     print one JSON line; exit 1 if a self-check failed\n"
    "  exit N                   exit with code N (0..255)\n"
    "  sleep S                  print 'ready', sleep S seconds (decimals allowed), exit 0\n"
    "  trap-term                ignore SIGTERM, print 'ready', wait forever\n"
    "  spin                     print 'ready', burn CPU forever\n"
    "                           (sleep and spin exit 143 on SIGTERM, even as PID 1)\n"
    "  echo-args ARGS...        print each argument on its own line\n"
    "  write-file PATH [TEXT]   write TEXT (default 'polyarch-probe') and a newline, fsync\n"
    "  hook PATH                as an OCI hook: read stdin (the state) to its end, write\n"
    "                           'polyarch-hook', a newline and the state to PATH, fsync\n"
    "  cat PATH                 copy the file to stdout\n"
    "  env NAME                 print $NAME; exit 1 if it is not set\n"
    "  mark PATH                write its own pid (as seen inside) to PATH, print 'ready',\n"
    "                           then wait until signalled (exits 143 on SIGTERM)\n"
    "  check [OPTION...]        print one JSON line of what the process was given (ids,\n"
    "                           environment, limits, namespaces, mounts...); exit 0\n"
    "    --read PATH            add its first 4096 bytes to \"reads\"\n"
    "    --stat PATH            add its lstat to \"stats\"\n"
    "    --write PATH           create/truncate it and write \"x\"; result in \"writes\"\n"
    "    --mkdir PATH           mkdir it (0755); result in \"mkdirs\"\n"
    "    --syscall NAME         call getpgid, getsid, getpriority or sched_yield;\n"
    "                           result in \"syscalls\"\n"
    "    --exec PATH            run PATH with no arguments or environment; result in\n"
    "                           \"execs\"\n"
    "                           (each repeatable; they run in order before the record is\n"
    "                           taken; a failure is recorded as an errno name)\n"
    "    --out PATH             write the record to PATH (atomically) instead of stdout\n"
    "    --hold                 then stay until signalled (exits 143 on SIGTERM)\n"
    "    --note TEXT            ignored: an argument the record's args carry\n";

__attribute__((format(printf, 1, 2))) static int UsageError(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  fputs("probe: ", stderr);
  vfprintf(stderr, fmt, args);
  fputs("\n", stderr);
  va_end(args);
  return kExitUsage;
}

// ---------------------------------------------------------------------------------------
// Deterministic computations

static uint64_t Rotl64(uint64_t x, unsigned r) { return (x << r) | (x >> ((64 - r) & 63)); }
static uint32_t Rotl32(uint32_t x, unsigned r) { return (x << r) | (x >> ((32 - r) & 31)); }

// FNV-style fold; the rotation keeps consecutive inputs from cancelling under xor.
static uint64_t Fold(uint64_t h, uint64_t v) { return Rotl64(h ^ v, 23) * 0x100000001b3u; }

static uint64_t IntChecksum(void) {
  uint64_t h = 0xcbf29ce484222325u;
  uint32_t a = 0x706f6c79u;
  for (uint32_t i = 0; i < 200000; ++i) {
    a = a * 1664525u + 1013904223u;
    uint64_t wide = (uint64_t)a * 0x5851f42d4c957f2du ^ Rotl64(h, i % 61 + 1);
    uint32_t rot = Rotl32(a, i % 31 + 1) ^ (a >> 13) ^ (a << 7);
    uint32_t divisor = (a >> 9) | 1u;
    // Signed values stay within range so no step relies on overflow behaviour; negative
    // division and modulo truncate toward zero by C11, so they are portable.
    int32_t s32 = (int32_t)(a & 0xffffu) - 32768;
    int64_t s64 = (int64_t)s32 * (int64_t)(i + 1) - INT64_C(1234567890123);
    int32_t q32 = s32 / -7, r32 = s32 % 7;
    int64_t q64 = s64 / 1000003, r64 = s64 % -97;
    h = Fold(h, wide / divisor);
    h = Fold(h, wide % divisor);
    h = Fold(h, rot);
    h = Fold(h, (uint64_t)q32 ^ ((uint64_t)(uint32_t)r32 << 32));
    h = Fold(h, (uint64_t)q64 + (uint64_t)r64);
    h ^= h >> 29;
  }
  return h;
}

static uint64_t DoubleBits(double d) {
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  return bits;
}

// Values stay finite and far from zero: NaN bit patterns differ between architectures,
// and so could the handling of denormals, so neither may appear.
static uint64_t FloatChecksum(void) {
  uint64_t h = 0x84222325cbf29ce4u;
  double x = 1.0, y = 0.5, z = 3.0;
  for (int32_t i = 0; i < 100000; ++i) {
    double k = (double)(i % 97) + 1.0;
    double neg = (double)(-i);  // signed int -> double conversion
    x = x * 1.0000001 + 1.0 / k;
    y = sqrt(x * k) - y / 3.0;
    z = (z + neg / 1e6) * 0.999 + y / (x + 1.0);
    if (z < 0.0) z = -z + 0.25;
    int64_t t = (int64_t)(x * 1e9);  // double -> int conversion truncates, in range
    h = Fold(h, DoubleBits(x));
    h = Fold(h, DoubleBits(y));
    h = Fold(h, DoubleBits(z));
    h = Fold(h, (uint64_t)t);
  }
  return h;
}

// SHA-256 as specified in FIPS 180-4. Words are loaded and stored byte by byte so the
// result does not depend on host byte order.
static const uint32_t kSha256K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t Rotr32(uint32_t x, unsigned r) { return (x >> r) | (x << (32 - r)); }

static void Sha256Block(uint32_t state[8], const uint8_t block[64]) {
  uint32_t w[64];
  for (int t = 0; t < 16; ++t) {
    w[t] = (uint32_t)block[4 * t] << 24 | (uint32_t)block[4 * t + 1] << 16 |
           (uint32_t)block[4 * t + 2] << 8 | (uint32_t)block[4 * t + 3];
  }
  for (int t = 16; t < 64; ++t) {
    uint32_t s0 = Rotr32(w[t - 15], 7) ^ Rotr32(w[t - 15], 18) ^ (w[t - 15] >> 3);
    uint32_t s1 = Rotr32(w[t - 2], 17) ^ Rotr32(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
  for (int t = 0; t < 64; ++t) {
    uint32_t big_s1 = Rotr32(e, 6) ^ Rotr32(e, 11) ^ Rotr32(e, 25);
    uint32_t ch = (e & f) ^ (~e & g);
    uint32_t t1 = h + big_s1 + ch + kSha256K[t] + w[t];
    uint32_t big_s0 = Rotr32(a, 2) ^ Rotr32(a, 13) ^ Rotr32(a, 22);
    uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
    uint32_t t2 = big_s0 + maj;
    h = g, g = f, f = e, e = d + t1;
    d = c, c = b, b = a, a = t1 + t2;
  }
  state[0] += a, state[1] += b, state[2] += c, state[3] += d;
  state[4] += e, state[5] += f, state[6] += g, state[7] += h;
}

static void Sha256(const uint8_t* data, size_t len, uint8_t digest[32]) {
  uint32_t state[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  size_t full = len - len % 64;
  for (size_t off = 0; off < full; off += 64) Sha256Block(state, data + off);

  // Padding: 0x80, zeros, then the bit length as a 64-bit big-endian number; one or two
  // blocks depending on whether the length fits after the tail.
  uint8_t tail[128] = {0};
  size_t rest = len - full;
  memcpy(tail, data + full, rest);
  tail[rest] = 0x80;
  size_t tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; ++i) tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
  for (size_t off = 0; off < tail_len; off += 64) Sha256Block(state, tail + off);

  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 4; ++j) digest[4 * i + j] = (uint8_t)(state[i] >> (24 - 8 * j));
  }
}

// The hashed buffer: 1 MiB of the top bytes of a 32-bit LCG seeded with "poly".
enum { kShaBufferSize = 1 << 20 };
static uint8_t g_sha_buffer[kShaBufferSize];

static void Sha256OfFixedBuffer(char hex[65]) {
  uint32_t lcg = 0x706f6c79u;
  for (size_t i = 0; i < kShaBufferSize; ++i) {
    lcg = lcg * 1664525u + 1013904223u;
    g_sha_buffer[i] = (uint8_t)(lcg >> 24);
  }
  uint8_t digest[32];
  Sha256(g_sha_buffer, kShaBufferSize, digest);
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 15];
  }
  hex[64] = '\0';
}

// ---------------------------------------------------------------------------------------
// Self-checks of the kernel interfaces a container (and qemu-user) must get right

enum { kThreads = 4, kIncrementsPerThread = 10000 };

struct Shared {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int arrived;  // workers that reached the start line
  bool go;      // set by the main thread once all have arrived
  uint32_t counter;
};

struct Worker {
  pthread_t thread;
  struct Shared* shared;
  bool ok;
};

static void* WorkerMain(void* arg) {
  struct Worker* self = arg;
  struct Shared* s = self->shared;
  bool ok = pthread_mutex_lock(&s->mu) == 0;
  s->arrived++;
  ok = ok && pthread_cond_broadcast(&s->cv) == 0;
  // Waiting here forces a real futex sleep and wake-up, not just uncontended fast paths.
  while (ok && !s->go) ok = pthread_cond_wait(&s->cv, &s->mu) == 0;
  ok = ok && pthread_mutex_unlock(&s->mu) == 0;
  for (int i = 0; i < kIncrementsPerThread; ++i) {
    ok = ok && pthread_mutex_lock(&s->mu) == 0;
    s->counter++;
    ok = ok && pthread_mutex_unlock(&s->mu) == 0;
  }
  self->ok = ok;
  return NULL;
}

static bool CheckThreads(uint32_t* sum) {
  struct Shared s = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
  struct Worker workers[kThreads];
  int started = 0;
  bool ok = true;
  for (; started < kThreads; ++started) {
    workers[started] = (struct Worker){.shared = &s, .ok = false};
    if (pthread_create(&workers[started].thread, NULL, WorkerMain, &workers[started]) != 0) {
      ok = false;
      break;
    }
  }
  ok = pthread_mutex_lock(&s.mu) == 0 && ok;
  while (ok && s.arrived < started) ok = pthread_cond_wait(&s.cv, &s.mu) == 0;
  // Release the workers even after a failure, or the joins below would hang.
  s.go = true;
  ok = pthread_cond_broadcast(&s.cv) == 0 && ok;
  ok = pthread_mutex_unlock(&s.mu) == 0 && ok;
  for (int i = 0; i < started; ++i) {
    ok = pthread_join(workers[i].thread, NULL) == 0 && workers[i].ok && ok;
  }
  *sum = s.counter;
  return ok && s.counter == kThreads * kIncrementsPerThread;
}

static volatile sig_atomic_t g_usr1_count;
static void OnUsr1(int sig) {
  (void)sig;
  g_usr1_count++;
}

// Must run while the process is single-threaded: POSIX then guarantees that a signal
// sent to ourselves, or unblocked while pending, is handled before the call returns.
static bool CheckSignal(void) {
  struct sigaction sa, old_sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = OnUsr1;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGUSR1, &sa, &old_sa) != 0) return false;
  g_usr1_count = 0;
  bool ok = kill(getpid(), SIGUSR1) == 0 && g_usr1_count == 1;

  sigset_t usr1, prev, now;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  if (sigprocmask(SIG_BLOCK, &usr1, &prev) != 0) {
    ok = false;
  } else {
    ok = ok && sigprocmask(SIG_BLOCK, NULL, &now) == 0 && sigismember(&now, SIGUSR1) == 1;
    ok = ok && kill(getpid(), SIGUSR1) == 0 && g_usr1_count == 1;  // held back while blocked
    ok = ok && sigpending(&now) == 0 && sigismember(&now, SIGUSR1) == 1;
    ok = sigprocmask(SIG_SETMASK, &prev, NULL) == 0 && ok;
    ok = ok && g_usr1_count == 2;  // the pending one arrives on unblock
    ok = ok && sigprocmask(SIG_BLOCK, NULL, &now) == 0 && sigismember(&now, SIGUSR1) == 0;
  }
  ok = sigaction(SIGUSR1, &old_sa, NULL) == 0 && ok;
  return ok;
}

static bool CheckMmap(long page_size) {
  if (page_size <= 0) return false;
  size_t len = 4 * (size_t)page_size;
  uint8_t* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  bool ok = true;
  for (size_t i = 0; i < len; ++i) ok = ok && p[i] == 0;  // fresh anonymous memory is zero
  for (size_t i = 0; i < len; ++i) p[i] = (uint8_t)(i * 31 + 7);
  for (size_t i = 0; i < len; ++i) ok = ok && p[i] == (uint8_t)(i * 31 + 7);
  ok = ok && mprotect(p, len, PROT_READ) == 0;
  for (size_t i = 0; i < len; ++i) ok = ok && p[i] == (uint8_t)(i * 31 + 7);
  ok = munmap(p, len) == 0 && ok;
  return ok;
}

static bool CheckClock(void) {
  struct timespec prev;
  if (clock_gettime(CLOCK_MONOTONIC, &prev) != 0) return false;
  for (int i = 0; i < 1000; ++i) {
    struct timespec now;
    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) return false;
    if (now.tv_sec < prev.tv_sec || (now.tv_sec == prev.tv_sec && now.tv_nsec < prev.tv_nsec)) {
      return false;
    }
    prev = now;
  }
  return true;
}

static bool CheckExitPassthrough(void) {
  pid_t child = fork();
  if (child < 0) return false;
  if (child == 0) _exit(42);  // _exit: the child must not flush the parent's stdio buffers
  int status;
  pid_t r;
  do {
    r = waitpid(child, &status, 0);
  } while (r < 0 && errno == EINTR);
  return r == child && WIFEXITED(status) && WEXITSTATUS(status) == 42;
}

// ---------------------------------------------------------------------------------------
// info

// Length of the well-formed UTF-8 sequence at s, or 0 if it is malformed, overlong, a
// surrogate or beyond U+10FFFF.
static size_t Utf8SequenceLength(const unsigned char* s, size_t n) {
  size_t len;
  uint32_t cp, min;
  if (s[0] < 0x80) return 1;
  if ((s[0] & 0xe0) == 0xc0) {
    len = 2, cp = s[0] & 0x1fu, min = 0x80;
  } else if ((s[0] & 0xf0) == 0xe0) {
    len = 3, cp = s[0] & 0x0fu, min = 0x800;
  } else if ((s[0] & 0xf8) == 0xf0) {
    len = 4, cp = s[0] & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (n < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3fu);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

// argv[0] and the machine name are arbitrary bytes, but a strict JSON reader rejects
// invalid UTF-8, so malformed bytes become U+FFFD instead of passing through. Takes a
// length because file contents (`check --read`) may hold NUL bytes.
static void PrintJsonBytes(const char* str, size_t n) {
  const unsigned char* s = (const unsigned char*)str;
  putchar('"');
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    if (c == '"' || c == '\\') {
      printf("\\%c", c);
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      printf("\\u%04x", c);
      ++i;
    } else {
      size_t len = Utf8SequenceLength(s + i, n - i);
      if (len == 0) {
        fputs("\\ufffd", stdout);
        ++i;
      } else {
        fwrite(s + i, 1, len, stdout);
        i += len;
      }
    }
  }
  putchar('"');
}

static void PrintJsonString(const char* str) { PrintJsonBytes(str, strlen(str)); }

static const char* Endianness(void) {
  // volatile keeps the compiler from answering this at build time.
  volatile uint32_t marker = 0x01020304u;
  uint32_t value = marker;
  unsigned char bytes[sizeof value];
  memcpy(bytes, &value, sizeof value);
  return bytes[0] == 0x01 ? "big" : "little";
}

static const char* Bool(bool b) { return b ? "true" : "false"; }

static int CmdInfo(int argc, char** argv) {
  if (argc != 2) return UsageError("info takes no arguments");
  struct utsname uts;
  bool uname_ok = uname(&uts) == 0;
  long page_size = sysconf(_SC_PAGESIZE);
  char sha[65];
  Sha256OfFixedBuffer(sha);
  uint32_t thread_sum = 0;
  bool threads_ok = CheckThreads(&thread_sum);
  bool signal_ok = CheckSignal();  // after the workers are joined: see CheckSignal
  bool mmap_ok = CheckMmap(page_size);
  bool clock_ok = CheckClock();
  bool exit_ok = CheckExitPassthrough();
  bool all_ok = uname_ok && threads_ok && signal_ok && mmap_ok && clock_ok && exit_ok;

  printf("{\"probe_version\":1,\"machine\":");
  PrintJsonString(uname_ok ? uts.machine : "");
  printf(",\"endianness\":\"%s\",\"pointer_bits\":%d,\"long_bits\":%d,\"page_size\":%ld",
         Endianness(), (int)(8 * sizeof(void*)), (int)(8 * sizeof(long)), page_size);
  printf(",\"pid\":%ld,\"argv0\":", (long)getpid());
  PrintJsonString(argv[0] ? argv[0] : "");
  printf(",\"int_checksum\":\"%016" PRIx64 "\",\"float_checksum\":\"%016" PRIx64 "\"",
         IntChecksum(), FloatChecksum());
  printf(",\"sha256\":\"%s\",\"threads\":{\"ok\":%s,\"sum\":%" PRIu32 "}", sha, Bool(threads_ok),
         thread_sum);
  printf(",\"signal\":{\"ok\":%s},\"mmap\":{\"ok\":%s},\"clock\":{\"ok\":%s}", Bool(signal_ok),
         Bool(mmap_ok), Bool(clock_ok));
  printf(",\"exit_passthrough\":{\"ok\":%s},\"ok\":%s}\n", Bool(exit_ok), Bool(all_ok));
  if (fflush(stdout) != 0) return kExitFailed;
  return all_ok ? kExitOk : kExitFailed;
}

// ---------------------------------------------------------------------------------------
// Behaviour subcommands

static int PrintReady(void) {
  puts("ready");
  // The harness waits for this line through a pipe, where stdout is fully buffered.
  return fflush(stdout) == 0 ? kExitOk : kExitFailed;
}

static int CmdExit(int argc, char** argv) {
  if (argc != 3) return UsageError("usage: probe exit N");
  const char* s = argv[2];
  size_t n = strlen(s);
  if (n == 0 || n > 3 || strspn(s, "0123456789") != n || atoi(s) > 255) {
    return UsageError("exit: not a code in 0..255: '%s'", s);
  }
  return atoi(s);
}

// Parses "D[.D]" strictly: strtod would also take "inf", "nan", hex and signs.
static bool ParseSeconds(const char* s, struct timespec* out) {
  size_t int_len = strspn(s, "0123456789");
  if (int_len > 9) return false;  // keeps tv_sec within a 32-bit time_t
  time_t sec = 0;
  for (size_t i = 0; i < int_len; ++i) sec = sec * 10 + (s[i] - '0');
  long nsec = 0;
  size_t frac_len = 0;
  if (s[int_len] == '.') {
    const char* frac = s + int_len + 1;
    frac_len = strspn(frac, "0123456789");
    if (frac[frac_len] != '\0') return false;
    long scale = 100000000;
    for (size_t i = 0; i < frac_len && i < 9; ++i, scale /= 10) nsec += (frac[i] - '0') * scale;
  } else if (s[int_len] != '\0') {
    return false;
  }
  if (int_len + frac_len == 0) return false;
  out->tv_sec = sec;
  out->tv_nsec = nsec;
  return true;
}

// The kernel drops a default-action signal sent to a PID namespace's init, so as a
// container's PID 1 a process without a SIGTERM handler never stops on SIGTERM. `sleep`
// and `spin` exit from a handler instead, which keeps them distinct from `trap-term`
// everywhere. Re-raising with SIG_DFL would be dropped the same way (and hangs qemu-user).
static void ExitOnTerm(int sig) { _exit(128 + sig); }

static bool SetTermAction(void (*action)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = action;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGTERM, &sa, NULL) == 0) return true;
  perror("probe: sigaction");
  return false;
}

static int CmdSleep(int argc, char** argv) {
  if (argc != 3) return UsageError("usage: probe sleep SECONDS");
  struct timespec left;
  if (!ParseSeconds(argv[2], &left)) return UsageError("sleep: not a duration: '%s'", argv[2]);
  if (!SetTermAction(ExitOnTerm) || PrintReady() != kExitOk) return kExitFailed;
  while (nanosleep(&left, &left) != 0) {
    if (errno != EINTR) {
      perror("probe: nanosleep");
      return kExitFailed;
    }
  }
  return kExitOk;
}

static int CmdTrapTerm(int argc) {
  if (argc != 2) return UsageError("trap-term takes no arguments");
  if (!SetTermAction(SIG_IGN) || PrintReady() != kExitOk) return kExitFailed;
  for (;;) pause();
}

static int CmdSpin(int argc) {
  if (argc != 2) return UsageError("spin takes no arguments");
  if (!SetTermAction(ExitOnTerm) || PrintReady() != kExitOk) return kExitFailed;
  // volatile so the loop is not optimised away: the point is to stay on the CPU.
  volatile uint64_t counter = 0;
  for (;;) counter = counter + 1;
}

static int CmdEchoArgs(int argc, char** argv) {
  for (int i = 2; i < argc; ++i) {
    fputs(argv[i], stdout);
    putchar('\n');
  }
  return fflush(stdout) == 0 ? kExitOk : kExitFailed;
}

// Error paths return straight to exit(), which closes any descriptor left open.
static int Fail(const char* what, const char* path) {
  fprintf(stderr, "probe: %s %s: %s\n", what, path, strerror(errno));
  return kExitFailed;
}

static bool WriteAll(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data += n;
    len -= (size_t)n;
  }
  return true;
}

static int CmdWriteFile(int argc, char** argv) {
  if (argc != 3 && argc != 4) return UsageError("usage: probe write-file PATH [TEXT]");
  const char* path = argv[2];
  const char* text = argc == 4 ? argv[3] : "polyarch-probe";
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Fail("write-file: open", path);
  if (!WriteAll(fd, text, strlen(text)) || !WriteAll(fd, "\n", 1)) {
    return Fail("write-file: write", path);
  }
  // fsync so a marker written just before the container is killed survives on disk.
  if (fsync(fd) != 0) return Fail("write-file: fsync", path);
  if (close(fd) != 0) return Fail("write-file: close", path);
  return kExitOk;
}

// A hook is given the container's state on stdin, and a runtime may fail the hook when it
// cannot write all of it (crun does: its write gets EPIPE if the hook has already exited), so
// the hook reads it to its end before it writes anything. The state, up to 64 KiB, follows a
// fixed first line in PATH: the mark is there even when a runtime gives no state.
static int CmdHook(int argc, char** argv) {
  if (argc != 3) return UsageError("usage: probe hook PATH");
  const char* path = argv[2];
  static char state[65536];
  size_t len = 0;
  for (;;) {
    char buf[4096];
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // a read error ends the state as its end does
    size_t keep = (size_t)n;
    if (keep > sizeof state - len) keep = sizeof state - len;
    memcpy(state + len, buf, keep);
    len += keep;
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Fail("hook: open", path);
  static const char kFirst[] = "polyarch-hook\n";
  if (!WriteAll(fd, kFirst, sizeof kFirst - 1) || !WriteAll(fd, state, len)) {
    return Fail("hook: write", path);
  }
  if (fsync(fd) != 0) return Fail("hook: fsync", path);
  if (close(fd) != 0) return Fail("hook: close", path);
  return kExitOk;
}

static int CmdCat(int argc, char** argv) {
  if (argc != 3) return UsageError("usage: probe cat PATH");
  const char* path = argv[2];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail("cat: open", path);
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail("cat: read", path);
    if (n == 0) break;
    if (!WriteAll(STDOUT_FILENO, buf, (size_t)n)) return Fail("cat: write", "stdout");
  }
  close(fd);
  return kExitOk;
}

static int CmdEnv(int argc, char** argv) {
  if (argc != 3) return UsageError("usage: probe env NAME");
  const char* value = getenv(argv[2]);
  if (value == NULL) return kExitFailed;
  puts(value);
  return fflush(stdout) == 0 ? kExitOk : kExitFailed;
}

// Proof that the container's process itself ran (not just that the runtime said so): the
// marker is written by the main process and read back through exec.
static int CmdMark(int argc, char** argv) {
  if (argc != 3) return UsageError("usage: probe mark PATH");
  char pid[32];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  char* write_argv[] = {argv[0], (char*)"write-file", argv[2], pid, NULL};
  int rc = CmdWriteFile(4, write_argv);
  if (rc != kExitOk) return rc;
  if (!SetTermAction(ExitOnTerm) || PrintReady() != kExitOk) return kExitFailed;
  for (;;) pause();
}

// ---------------------------------------------------------------------------------------
// check: one JSON line of what the process was given, for comparison with the OCI config

// build.sh passes -D_FILE_OFFSET_BITS=64. Without it a 32-bit arch clips resource limits to
// 32 bits and fails open and lstat with EOVERFLOW on large files and large inode numbers.
_Static_assert(sizeof(rlim_t) == 8, "rlim_t must be 64 bits: build with -D_FILE_OFFSET_BITS=64");
_Static_assert(sizeof(off_t) == 8, "off_t must be 64 bits: build with -D_FILE_OFFSET_BITS=64");

// Errno values differ between architectures (mips numbers many of them its own way), so
// failures are reported by name.
#define ERRNO_NAME(e) \
  { e, #e }
static const struct {
  int code;
  const char* name;
} kErrnoNames[] = {
    ERRNO_NAME(EPERM),     ERRNO_NAME(ENOENT),       ERRNO_NAME(ESRCH),   ERRNO_NAME(EINTR),
    ERRNO_NAME(EIO),       ERRNO_NAME(ENXIO),        ERRNO_NAME(E2BIG),   ERRNO_NAME(ENOEXEC),
    ERRNO_NAME(EBADF),     ERRNO_NAME(ECHILD),       ERRNO_NAME(EAGAIN),  ERRNO_NAME(ENOMEM),
    ERRNO_NAME(EACCES),    ERRNO_NAME(EFAULT),       ERRNO_NAME(EBUSY),   ERRNO_NAME(EEXIST),
    ERRNO_NAME(EXDEV),     ERRNO_NAME(ENODEV),       ERRNO_NAME(ENOTDIR), ERRNO_NAME(EISDIR),
    ERRNO_NAME(EINVAL),    ERRNO_NAME(ENFILE),       ERRNO_NAME(EMFILE),  ERRNO_NAME(ENOTTY),
    ERRNO_NAME(ETXTBSY),   ERRNO_NAME(EFBIG),        ERRNO_NAME(ENOSPC),  ERRNO_NAME(ESPIPE),
    ERRNO_NAME(EROFS),     ERRNO_NAME(EMLINK),       ERRNO_NAME(EPIPE),   ERRNO_NAME(ERANGE),
    ERRNO_NAME(EDEADLK),   ERRNO_NAME(ENAMETOOLONG), ERRNO_NAME(ENOSYS),  ERRNO_NAME(ENOTEMPTY),
    ERRNO_NAME(ELOOP),     ERRNO_NAME(EOVERFLOW),    ERRNO_NAME(EUSERS),  ERRNO_NAME(EOPNOTSUPP),
    ERRNO_NAME(ETIMEDOUT), ERRNO_NAME(ESTALE),       ERRNO_NAME(EDQUOT),  ERRNO_NAME(ECANCELED),
    ERRNO_NAME(EDOM),
};
#undef ERRNO_NAME

// ENOTSUP is EOPNOTSUPP on Linux, so both come out as "EOPNOTSUPP".
static const char* ErrnoName(int err) {
  for (size_t i = 0; i < sizeof kErrnoNames / sizeof kErrnoNames[0]; ++i) {
    if (kErrnoNames[i].code == err) return kErrnoNames[i].name;
  }
  static char other[24];
  snprintf(other, sizeof other, "E%d", err);
  return other;
}

static void PrintJsonStringOrNull(const char* s) {
  if (s == NULL) {
    fputs("null", stdout);
  } else {
    PrintJsonString(s);
  }
}

static void PrintErrno(int err) { printf("{\"errno\":\"%s\"}", ErrnoName(err)); }

// Starts the member `key` of an object; *first tracks whether a comma is due.
static void PrintMember(bool* first, const char* key) {
  if (!*first) putchar(',');
  *first = false;
  PrintJsonString(key);
  putchar(':');
}

enum { kCheckReadLimit = 4096, kCheckLinkLimit = 4096, kCheckTextLimit = 65536 };

// Reads up to `cap` bytes of `path`, until EOF: /proc files report size 0, and a read may
// return less than asked for. Returns 0 or the errno of the failing call.
static int ReadUpTo(const char* path, char* buf, size_t cap, size_t* len) {
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = 0;
  while (*len < cap) {
    ssize_t n = read(fd, buf + *len, cap - *len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;
      break;
    }
    if (n == 0) break;
    *len += (size_t)n;
  }
  close(fd);
  return err;
}

// The text of a (small) kernel file as a JSON string, or null if it cannot be read.
static char g_check_text[kCheckTextLimit];
static void PrintFileText(const char* path) {
  size_t len;
  if (ReadUpTo(path, g_check_text, sizeof g_check_text, &len) != 0) {
    fputs("null", stdout);
  } else {
    PrintJsonBytes(g_check_text, len);
  }
}

enum CheckKind { kCheckRead, kCheckStat, kCheckWrite, kCheckMkdir, kCheckSyscall, kCheckExec };
static const struct {
  const char* option;
  const char* key;  // of the record's object holding this option's results
} kCheckKinds[] = {{"--read", "reads"},   {"--stat", "stats"},       {"--write", "writes"},
                   {"--mkdir", "mkdirs"}, {"--syscall", "syscalls"}, {"--exec", "execs"}};
enum { kCheckKindCount = sizeof kCheckKinds / sizeof kCheckKinds[0] };

static long long SyscallGetpgid(void) { return getpgid(0); }
static long long SyscallGetsid(void) { return getsid(0); }
static long long SyscallGetpriority(void) { return getpriority(PRIO_PROCESS, 0); }
static long long SyscallSchedYield(void) { return sched_yield(); }

// Each returns -1 with errno set on failure; getpriority may also return -1 on success,
// which is why errno is cleared before the call.
static const struct {
  const char* name;
  long long (*call)(void);
} kCheckSyscalls[] = {{"getpgid", SyscallGetpgid},
                      {"getsid", SyscallGetsid},
                      {"getpriority", SyscallGetpriority},
                      {"sched_yield", SyscallSchedYield}};
enum { kCheckSyscallCount = sizeof kCheckSyscalls / sizeof kCheckSyscalls[0] };

struct CheckAction {
  enum CheckKind kind;
  const char* arg;  // the option's PATH or NAME
  int syscall;      // --syscall: index into kCheckSyscalls
  int err;          // 0: the action succeeded
  char* data;       // --read: the content; --stat of a link: its target (NULL: unreadable)
  size_t data_len;  // of data
  struct stat st;   // --stat
  long long ret;    // --syscall
  int wait_status;  // --exec
};

static void CheckRead(struct CheckAction* a) {
  a->data = malloc(kCheckReadLimit);
  if (a->data == NULL) {
    a->err = ENOMEM;
    return;
  }
  a->err = ReadUpTo(a->arg, a->data, kCheckReadLimit, &a->data_len);
}

static void CheckStat(struct CheckAction* a) {
  if (lstat(a->arg, &a->st) != 0) {
    a->err = errno;
    return;
  }
  if (!S_ISLNK(a->st.st_mode)) return;
  a->data = malloc(kCheckLinkLimit);
  ssize_t n = a->data == NULL ? -1 : readlink(a->arg, a->data, kCheckLinkLimit);
  if (n < 0) {
    free(a->data);
    a->data = NULL;
  } else {
    a->data_len = (size_t)n;
  }
}

static void CheckWrite(struct CheckAction* a) {
  int fd = open(a->arg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    a->err = errno;
    return;
  }
  if (!WriteAll(fd, "x", 1)) a->err = errno;
  // Some filesystems report a failed write only at close.
  if (close(fd) != 0 && a->err == 0) a->err = errno;
}

static void CheckExec(struct CheckAction* a) {
  // The child reports a failed execve through the pipe; a successful one closes it.
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    a->err = errno;
    return;
  }
  fflush(stdout);
  pid_t child = fork();
  if (child < 0) {
    a->err = errno;
    close(report[0]);
    close(report[1]);
    return;
  }
  if (child == 0) {
    // Whatever the program prints must not end up in the record's stream.
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
      if (null_fd > STDERR_FILENO) close(null_fd);
    } else {
      dup2(STDERR_FILENO, STDOUT_FILENO);
    }
    char* child_argv[] = {(char*)a->arg, NULL};
    char* child_env[] = {NULL};
    execve(a->arg, child_argv, child_env);
    int err = errno;
    ssize_t ignored = write(report[1], &err, sizeof err);
    (void)ignored;
    _exit(127);
  }
  close(report[1]);
  int exec_err = 0;
  ssize_t n;
  do {
    n = read(report[0], &exec_err, sizeof exec_err);
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  int status;
  pid_t r;
  do {
    r = waitpid(child, &status, 0);
  } while (r < 0 && errno == EINTR);
  if (n == (ssize_t)sizeof exec_err) {
    a->err = exec_err;
  } else if (r != child) {
    a->err = errno;
  } else {
    a->wait_status = status;
  }
}

static void RunCheckAction(struct CheckAction* a) {
  switch (a->kind) {
    case kCheckRead:
      CheckRead(a);
      break;
    case kCheckStat:
      CheckStat(a);
      break;
    case kCheckWrite:
      CheckWrite(a);
      break;
    case kCheckMkdir:
      if (mkdir(a->arg, 0755) != 0) a->err = errno;
      break;
    case kCheckSyscall:
      errno = 0;
      a->ret = kCheckSyscalls[a->syscall].call();
      if (a->ret == -1 && errno != 0) a->err = errno;
      break;
    case kCheckExec:
      CheckExec(a);
      break;
  }
}

static const char* FileType(mode_t mode) {
  if (S_ISREG(mode)) return "reg";
  if (S_ISDIR(mode)) return "dir";
  if (S_ISLNK(mode)) return "lnk";
  if (S_ISCHR(mode)) return "chr";
  if (S_ISBLK(mode)) return "blk";
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISSOCK(mode)) return "sock";
  return "unknown";
}

static void PrintCheckResult(const struct CheckAction* a) {
  if (a->err != 0) {
    PrintErrno(a->err);
    return;
  }
  switch (a->kind) {
    case kCheckRead:
      fputs("{\"content\":", stdout);
      PrintJsonBytes(a->data, a->data_len);
      putchar('}');
      break;
    case kCheckStat: {
      const struct stat* st = &a->st;
      bool device = S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode);
      printf("{\"type\":\"%s\",\"mode\":%u,\"uid\":%ju,\"gid\":%ju,\"major\":%u,\"minor\":%u",
             FileType(st->st_mode), (unsigned)(st->st_mode & 07777), (uintmax_t)st->st_uid,
             (uintmax_t)st->st_gid, device ? major(st->st_rdev) : 0,
             device ? minor(st->st_rdev) : 0);
      printf(",\"size\":%jd", (intmax_t)st->st_size);
      if (S_ISLNK(st->st_mode)) {
        fputs(",\"target\":", stdout);
        if (a->data == NULL) {
          fputs("null", stdout);
        } else {
          PrintJsonBytes(a->data, a->data_len);
        }
      }
      putchar('}');
      break;
    }
    case kCheckWrite:
    case kCheckMkdir:
      fputs("{\"ok\":true}", stdout);
      break;
    case kCheckSyscall:
      printf("{\"ret\":%lld}", a->ret);
      break;
    case kCheckExec:
      if (WIFEXITED(a->wait_status)) {
        printf("{\"ok\":true,\"exit\":%d}", WEXITSTATUS(a->wait_status));
      } else {
        printf("{\"ok\":true,\"signal\":%d}", WTERMSIG(a->wait_status));
      }
      break;
  }
}

// Each numeric id as the kernel gives it; uid_t and gid_t are unsigned on Linux.
static void PrintIds(void) {
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  // These cannot fail when given valid pointers.
  getresuid(&ruid, &euid, &suid);
  getresgid(&rgid, &egid, &sgid);
  printf(",\"uid\":%ju,\"euid\":%ju,\"suid\":%ju,\"gid\":%ju,\"egid\":%ju,\"sgid\":%ju",
         (uintmax_t)ruid, (uintmax_t)euid, (uintmax_t)suid, (uintmax_t)rgid, (uintmax_t)egid,
         (uintmax_t)sgid);
  // NGROUPS_MAX is the kernel's limit, so the call cannot fail for lack of room.
  static gid_t groups[NGROUPS_MAX];
  int n = getgroups(NGROUPS_MAX, groups);
  fputs(",\"groups\":", stdout);
  if (n < 0) {
    fputs("null", stdout);
  } else {
    putchar('[');
    for (int i = 0; i < n; ++i) printf("%s%ju", i ? "," : "", (uintmax_t)groups[i]);
    putchar(']');
  }
}

static bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\n'; }

// The selected /proc/self/status fields, in this order, with the value the kernel prints.
static void PrintStatus(void) {
  static const char* const kFields[] = {"CapInh", "CapPrm",     "CapEff",  "CapBnd",
                                        "CapAmb", "NoNewPrivs", "Seccomp", "Umask"};
  enum { kFieldCount = sizeof kFields / sizeof kFields[0], kValueMax = 64 };
  char values[kFieldCount][kValueMax];
  bool found[kFieldCount] = {false};
  FILE* f = fopen("/proc/self/status", "re");
  char* line = NULL;
  size_t cap = 0;
  ssize_t len;
  while (f != NULL && (len = getline(&line, &cap, f)) > 0) {
    for (size_t i = 0; i < kFieldCount; ++i) {
      size_t key_len = strlen(kFields[i]);
      if ((size_t)len <= key_len || strncmp(line, kFields[i], key_len) != 0 ||
          line[key_len] != ':') {
        continue;
      }
      size_t start = key_len + 1, end = (size_t)len;
      while (start < end && IsWhitespace(line[start])) ++start;
      while (end > start && IsWhitespace(line[end - 1])) --end;
      size_t n = end - start < kValueMax - 1 ? end - start : kValueMax - 1;
      memcpy(values[i], line + start, n);
      values[i][n] = '\0';
      found[i] = true;
    }
  }
  free(line);
  if (f != NULL) fclose(f);
  fputs(",\"status\":{", stdout);
  bool first = true;
  for (size_t i = 0; i < kFieldCount; ++i) {
    if (!found[i]) continue;
    PrintMember(&first, kFields[i]);
    PrintJsonString(values[i]);
  }
  putchar('}');
}

static void PrintRlimits(void) {
#define RLIMIT_NAME(r) \
  { r, #r }
  static const struct {
    int resource;
    const char* name;
  } kRlimits[] = {
      RLIMIT_NAME(RLIMIT_CPU),      RLIMIT_NAME(RLIMIT_FSIZE),  RLIMIT_NAME(RLIMIT_DATA),
      RLIMIT_NAME(RLIMIT_STACK),    RLIMIT_NAME(RLIMIT_CORE),   RLIMIT_NAME(RLIMIT_RSS),
      RLIMIT_NAME(RLIMIT_NPROC),    RLIMIT_NAME(RLIMIT_NOFILE), RLIMIT_NAME(RLIMIT_MEMLOCK),
      RLIMIT_NAME(RLIMIT_AS),       RLIMIT_NAME(RLIMIT_LOCKS),  RLIMIT_NAME(RLIMIT_SIGPENDING),
      RLIMIT_NAME(RLIMIT_MSGQUEUE), RLIMIT_NAME(RLIMIT_NICE),   RLIMIT_NAME(RLIMIT_RTPRIO),
      RLIMIT_NAME(RLIMIT_RTTIME),
  };
#undef RLIMIT_NAME
  fputs(",\"rlimits\":{", stdout);
  bool first = true;
  for (size_t i = 0; i < sizeof kRlimits / sizeof kRlimits[0]; ++i) {
    PrintMember(&first, kRlimits[i].name);
    struct rlimit lim;
    if (getrlimit(kRlimits[i].resource, &lim) != 0) {
      PrintErrno(errno);
      continue;
    }
    // RLIM_INFINITY is all ones in 64 bits on every arch once rlim_t is 64 bits wide.
    rlim_t values[2] = {lim.rlim_cur, lim.rlim_max};
    for (int j = 0; j < 2; ++j) {
      fputs(j == 0 ? "{\"soft\":" : ",\"hard\":", stdout);
      if (values[j] == RLIM_INFINITY) {
        fputs("-1", stdout);
      } else {
        printf("%" PRIu64, (uint64_t)values[j]);
      }
    }
    putchar('}');
  }
  putchar('}');
}

static void PrintOomScoreAdj(void) {
  char buf[32];
  size_t len;
  fputs(",\"oom_score_adj\":", stdout);
  if (ReadUpTo("/proc/self/oom_score_adj", buf, sizeof buf - 1, &len) == 0) {
    buf[len] = '\0';
    char* end;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (end != buf && errno == 0 && (*end == '\n' || *end == '\0')) {
      printf("%ld", v);
      return;
    }
  }
  fputs("null", stdout);
}

static void PrintNamespaces(void) {
  static const char* const kNamespaces[] = {"pid", "mnt",  "net",    "ipc",
                                            "uts", "user", "cgroup", "time"};
  fputs(",\"ns\":{", stdout);
  bool first = true;
  for (size_t i = 0; i < sizeof kNamespaces / sizeof kNamespaces[0]; ++i) {
    PrintMember(&first, kNamespaces[i]);
    char path[64], target[256];
    snprintf(path, sizeof path, "/proc/self/ns/%s", kNamespaces[i]);
    ssize_t n = readlink(path, target, sizeof target);
    if (n < 0) {
      fputs("null", stdout);
    } else {
      PrintJsonBytes(target, (size_t)n);
    }
  }
  putchar('}');
}

// The kernel writes space, tab, newline and backslash in mountinfo's paths as \ooo.
static size_t UnescapeOctal(const char* s, size_t n, char* out) {
  size_t o = 0;
  for (size_t i = 0; i < n; ++i) {
    if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out[o++] = (char)((s[i + 1] - '0') << 6 | (s[i + 2] - '0') << 3 | (s[i + 3] - '0'));
      i += 3;
    } else {
      out[o++] = s[i];
    }
  }
  return o;
}

struct Span {
  const char* p;
  size_t n;
};

static bool SpanIs(struct Span s, const char* text) {
  return s.n == strlen(text) && memcmp(s.p, text, s.n) == 0;
}

// A JSON number as the kernel printed it: digits without a leading zero.
static bool SpanIsNumber(struct Span s) {
  if (s.n == 0 || s.n > 10 || (s.n > 1 && s.p[0] == '0')) return false;
  for (size_t i = 0; i < s.n; ++i) {
    if (s.p[i] < '0' || s.p[i] > '9') return false;
  }
  return true;
}

// One line of /proc/self/mountinfo (proc(5)):
//   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
// as an object; paths, fstype and source unescaped. Options keep their escapes, which keep
// their commas unambiguous. A line that does not have that shape is kept as "unparsed".
static void PrintMountinfoLine(const char* line, size_t len, char* scratch) {
  enum { kMaxFields = 64 };
  struct Span f[kMaxFields];
  size_t nf = 0;
  bool fits = true;
  for (size_t i = 0; i < len && fits; ++i) {
    size_t j = i;
    while (j < len && line[j] != ' ') ++j;
    if (nf == kMaxFields) fits = false;
    if (fits) f[nf++] = (struct Span){line + i, j - i};
    i = j;
  }
  size_t sep = 6;
  while (sep < nf && !SpanIs(f[sep], "-")) ++sep;
  if (!fits || sep + 4 != nf || !SpanIsNumber(f[0]) || !SpanIsNumber(f[1])) {
    fputs("{\"unparsed\":", stdout);
    PrintJsonBytes(line, len);
    putchar('}');
    return;
  }
  printf("{\"id\":%.*s,\"parent\":%.*s,\"dev\":", (int)f[0].n, f[0].p, (int)f[1].n, f[1].p);
  PrintJsonBytes(f[2].p, f[2].n);
  fputs(",\"root\":", stdout);
  PrintJsonBytes(scratch, UnescapeOctal(f[3].p, f[3].n, scratch));
  fputs(",\"mount_point\":", stdout);
  PrintJsonBytes(scratch, UnescapeOctal(f[4].p, f[4].n, scratch));
  fputs(",\"options\":", stdout);
  PrintJsonBytes(f[5].p, f[5].n);
  // The optional fields are single-space separated in the line already.
  fputs(",\"optional\":", stdout);
  if (sep == 6) {
    PrintJsonBytes("", 0);
  } else {
    PrintJsonBytes(f[6].p, (size_t)(f[sep - 1].p + f[sep - 1].n - f[6].p));
  }
  fputs(",\"fstype\":", stdout);
  PrintJsonBytes(scratch, UnescapeOctal(f[sep + 1].p, f[sep + 1].n, scratch));
  fputs(",\"source\":", stdout);
  PrintJsonBytes(scratch, UnescapeOctal(f[sep + 2].p, f[sep + 2].n, scratch));
  fputs(",\"super_options\":", stdout);
  PrintJsonBytes(f[sep + 3].p, f[sep + 3].n);
  putchar('}');
}

static void PrintMountinfo(void) {
  fputs(",\"mountinfo\":", stdout);
  FILE* f = fopen("/proc/self/mountinfo", "re");
  if (f == NULL) {
    fputs("null", stdout);
    return;
  }
  putchar('[');
  char* line = NULL;
  size_t cap = 0;
  ssize_t len;
  char* scratch = NULL;  // unescaped fields: never longer than the line
  size_t scratch_cap = 0;
  bool first = true;
  while ((len = getline(&line, &cap, f)) > 0) {
    if (line[len - 1] == '\n') --len;
    if (scratch_cap < cap) {
      free(scratch);
      scratch = malloc(cap);
      scratch_cap = scratch == NULL ? 0 : cap;
      if (scratch == NULL) break;
    }
    if (!first) putchar(',');
    first = false;
    PrintMountinfoLine(line, (size_t)len, scratch);
  }
  free(scratch);
  free(line);
  fclose(f);
  putchar(']');
}

static int CmdCheck(int argc, char** argv) {
  // At most one action per two arguments.
  struct CheckAction* actions = calloc((size_t)argc / 2 + 1, sizeof *actions);
  if (actions == NULL) {
    perror("probe: check");
    return kExitFailed;
  }
  size_t count = 0;
  const char* out = NULL;
  bool hold = false;
  for (int i = 2; i < argc; i += 2) {
    if (strcmp(argv[i], "--hold") == 0) {
      hold = true;
      --i;  // takes no argument
      continue;
    }
    if (strcmp(argv[i], "--out") == 0 || strcmp(argv[i], "--note") == 0) {
      if (i + 1 == argc) return UsageError("check: %s needs an argument", argv[i]);
      if (argv[i][2] == 'o') out = argv[i + 1];
      continue;
    }
    int kind = 0;
    while (kind < kCheckKindCount && strcmp(argv[i], kCheckKinds[kind].option) != 0) ++kind;
    if (kind == kCheckKindCount) return UsageError("check: unknown option '%s'", argv[i]);
    if (i + 1 == argc) return UsageError("check: %s needs an argument", argv[i]);
    struct CheckAction* a = &actions[count];
    *a = (struct CheckAction){.kind = (enum CheckKind)kind, .arg = argv[i + 1]};
    // Results are keyed by the argument, so each may appear once per option.
    for (size_t j = 0; j < count; ++j) {
      if (actions[j].kind == a->kind && strcmp(actions[j].arg, a->arg) == 0) {
        return UsageError("check: %s '%s' given twice", argv[i], a->arg);
      }
    }
    if (a->kind == kCheckSyscall) {
      while (a->syscall < kCheckSyscallCount &&
             strcmp(a->arg, kCheckSyscalls[a->syscall].name) != 0) {
        a->syscall++;
      }
      if (a->syscall == kCheckSyscallCount) {
        return UsageError(
            "check: unknown syscall '%s' (known: getpgid getsid getpriority "
            "sched_yield)",
            a->arg);
      }
    }
    ++count;
  }
  // The actions run first, in the order given, so that one may prepare for the next.
  for (size_t i = 0; i < count; ++i) RunCheckAction(&actions[i]);

  // --out: the record goes to a file, complete or not at all (written aside, then renamed).
  char tmp[PATH_MAX];
  if (out != NULL) {
    if (snprintf(tmp, sizeof tmp, "%s.tmp", out) >= (int)sizeof tmp) {
      return UsageError("check: --out path too long");
    }
    if (freopen(tmp, "w", stdout) == NULL) {
      fprintf(stderr, "probe: check: %s: %s\n", tmp, strerror(errno));
      return kExitFailed;
    }
  }

  fputs("{\"check_version\":1,\"args\":[", stdout);
  for (int i = 0; i < argc; ++i) {
    if (i) putchar(',');
    PrintJsonString(argv[i]);
  }
  fputs("],\"env\":[", stdout);
  for (char** e = environ; e != NULL && *e != NULL; ++e) {
    if (e != environ) putchar(',');
    PrintJsonString(*e);
  }
  fputs("],\"cwd\":", stdout);
  static char cwd[PATH_MAX];
  PrintJsonStringOrNull(getcwd(cwd, sizeof cwd));
  PrintIds();
  mode_t mask = umask(0);
  umask(mask);
  printf(",\"umask\":%u", (unsigned)mask);
  PrintStatus();
  printf(",\"no_new_privs\":%d", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
  PrintRlimits();
  PrintOomScoreAdj();
  struct utsname uts;
  bool uname_ok = uname(&uts) == 0;
  fputs(",\"hostname\":", stdout);
  PrintJsonStringOrNull(uname_ok ? uts.nodename : NULL);
  fputs(",\"domainname\":", stdout);
  PrintJsonStringOrNull(uname_ok ? uts.domainname : NULL);
  PrintNamespaces();
  fputs(",\"uid_map\":", stdout);
  PrintFileText("/proc/self/uid_map");
  fputs(",\"gid_map\":", stdout);
  PrintFileText("/proc/self/gid_map");
  PrintMountinfo();
  fputs(",\"cgroup\":", stdout);
  PrintFileText("/proc/self/cgroup");

  for (int kind = 0; kind < kCheckKindCount; ++kind) {
    bool first = true;
    for (size_t i = 0; i < count; ++i) {
      if ((int)actions[i].kind != kind) continue;
      if (first) {
        printf(",\"%s\":{", kCheckKinds[kind].key);
      } else {
        putchar(',');
      }
      first = false;
      PrintJsonString(actions[i].arg);
      putchar(':');
      PrintCheckResult(&actions[i]);
    }
    if (!first) putchar('}');
  }
  fputs("}\n", stdout);
  for (size_t i = 0; i < count; ++i) free(actions[i].data);
  free(actions);
  if (fflush(stdout) != 0) return kExitFailed;
  if (out != NULL && rename(tmp, out) != 0) {
    fprintf(stderr, "probe: check: rename to %s: %s\n", out, strerror(errno));
    return kExitFailed;
  }
  if (!hold) return kExitOk;
  // --hold: stay alive (as the container's process) until signalled; 143 on SIGTERM.
  if (!SetTermAction(ExitOnTerm)) return kExitFailed;
  for (;;) pause();
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fputs(kUsage, stderr);
    return kExitUsage;
  }
  const char* cmd = argv[1];
  if (strcmp(cmd, "info") == 0) return CmdInfo(argc, argv);
  if (strcmp(cmd, "exit") == 0) return CmdExit(argc, argv);
  if (strcmp(cmd, "sleep") == 0) return CmdSleep(argc, argv);
  if (strcmp(cmd, "trap-term") == 0) return CmdTrapTerm(argc);
  if (strcmp(cmd, "spin") == 0) return CmdSpin(argc);
  if (strcmp(cmd, "echo-args") == 0) return CmdEchoArgs(argc, argv);
  if (strcmp(cmd, "write-file") == 0) return CmdWriteFile(argc, argv);
  if (strcmp(cmd, "hook") == 0) return CmdHook(argc, argv);
  if (strcmp(cmd, "cat") == 0) return CmdCat(argc, argv);
  if (strcmp(cmd, "env") == 0) return CmdEnv(argc, argv);
  if (strcmp(cmd, "mark") == 0) return CmdMark(argc, argv);
  if (strcmp(cmd, "check") == 0) return CmdCheck(argc, argv);
  UsageError("unknown command '%s'", cmd);
  fputs(kUsage, stderr);
  return kExitUsage;
}
