// probe: a static program that runs inside a container of any CPU architecture and reports
// what it observes. `probe info` prints one JSON line; the other subcommands give the
// harness controllable behaviour (exit codes, signals, files, environment).
//
// Plain C11 + POSIX so that every Debian cross compiler builds it with -static. The
// deterministic fields of `info` must come out identical on every architecture, so that
// code uses only explicit-width integer types, never depends on pointer values, byte order
// or word size, and avoids libm functions other than the correctly rounded sqrt.

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
    "  cat PATH                 copy the file to stdout\n"
    "  env NAME                 print $NAME; exit 1 if it is not set\n"
    "  mark PATH                write its own pid (as seen inside) to PATH, print 'ready',\n"
    "                           then wait until signalled (exits 143 on SIGTERM)\n";

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
// invalid UTF-8, so malformed bytes become U+FFFD instead of passing through.
static void PrintJsonString(const char* str) {
  const unsigned char* s = (const unsigned char*)str;
  size_t n = strlen(str);
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
  if (strcmp(cmd, "cat") == 0) return CmdCat(argc, argv);
  if (strcmp(cmd, "env") == 0) return CmdEnv(argc, argv);
  if (strcmp(cmd, "mark") == 0) return CmdMark(argc, argv);
  UsageError("unknown command '%s'", cmd);
  fputs(kUsage, stderr);
  return kExitUsage;
}
